"""Messages of the pages in zh-CN (the default) and English, on the same URLs.

The language is ``?lang=`` when given (and then remembered in the ``chainproof_lang``
cookie), else the cookie, else zh-CN: the people here are reviewers and applicants in
Guangxi, so the browser's Accept-Language does not override the default.

Keys are dotted (``verify.title``); messages may hold ``{name}`` fields filled by
:func:`translator`. Keys under ``js.`` are also sent to the page's scripts as JSON. Both
catalogs have the same keys (a unit test holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from chainproof.web import (
    i18n_accounts,
    i18n_admin,
    i18n_draws,
    i18n_licences,
    i18n_receipt,
    i18n_recordings,
    i18n_subsidy,
    i18n_trace,
)

if TYPE_CHECKING:
    from starlette.requests import Request

Lang = str
LANGS: Final[tuple[Lang, Lang]] = ("zh-CN", "en")
DEFAULT_LANG: Final = "zh-CN"
COOKIE: Final = "chainproof_lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600

_ALIASES: Final = {"zh": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN", "en": "en", "en-us": "en"}

ZH: Final[dict[str, str]] = {
    "app.tagline": "区块链电子存证",
    "lang.switch": "English",
    "nav.label": "主导航",
    "nav.skip": "跳到正文",
    "nav.verify": "验证文件",
    "nav.anchor": "上链存证",
    "nav.explorer": "区块链浏览器",
    "nav.admin": "管理",
    "footer.text": "ChainProof 链证 · 文件只在您的设备上计算摘要，上链的只有摘要",
    "footer.api": "API 文档",
    # home
    "home.title": "桂链区块链电子存证平台",
    "home.lead": "把文件的数字指纹（摘要）写入区块链，证明文件在某一时刻已经存在且此后未被改动。"
    "审核人员把文件拖进来，立刻看到绿色（一致）或红色（不一致）的结论。",
    "home.cta_verify": "验证文件",
    "home.cta_anchor": "上链存证",
    "home.pages": "页面",
    "home.verify_text": "拖入一个或多个文件，"
    "在浏览器内计算摘要并与链上存证比对。文件不离开您的电脑。",
    "home.anchor_text": "用 API 密钥上传申报材料或发票，实时查看 排队 → 打包 → 上链 的状态。",
    "home.explorer_text": "查看最新区块、存证合约的交易与解码后的事件，"
    "按交易哈希、根、摘要或地址搜索。",
    "home.admin_text": "管理成员单位、API 密钥与申报批次（需要管理员密钥）。",
    "home.how": "工作原理",
    "home.step1": "计算文件摘要（SHA-256 或国密 SM3）；文件内容不上链、不存储。",
    "home.step2": "摘要按批次组成默克尔树，树根写入区块链上的存证合约，区块时间即存证时间。",
    "home.step3": "任何人拿到原文件或存证回执，都能独立核验，无需信任本平台。",
    "home.chain": "区块链连接",
    "home.chain_ok": "正常：已连接到存证所在的链",
    "home.chain_bad": "区块链不可用：暂不给出“已存证”结论。",
    # fields and columns
    "field.algorithm": "摘要算法",
    "field.digest": "文件摘要",
    "field.member": "存证成员",
    "field.status": "状态",
    "field.filename": "文件名",
    "field.label": "备注",
    "field.business_type": "业务类型",
    "field.metadata": "业务元数据",
    "field.size": "大小",
    "field.created_at": "提交时间",
    "field.time": "存证时间（区块时间）",
    "field.block": "区块",
    "field.block_hash": "区块哈希",
    "field.tx": "交易哈希",
    "field.chain_id": "链 ID",
    "field.contract": "存证合约",
    "field.submitter": "上链账户",
    "field.salt": "盐值",
    "field.leaf": "叶子哈希",
    "field.proof": "默克尔证明",
    "field.root": "默克尔根",
    "field.node": "节点",
    "field.latest_block": "最新区块",
    "field.parent": "父区块",
    "field.gas_used": "Gas 用量",
    "field.from": "发送方",
    "field.to": "接收方",
    "field.nonce": "Nonce",
    "field.method": "调用方法",
    "field.address": "地址",
    "field.role": "角色",
    "field.org": "成员单位名称",
    "field.leaf_count": "文件数（叶子数）",
    "col.document": "文件",
    "col.verdict": "结论",
    "col.time": "存证时间",
    "col.block": "区块",
    "col.member": "存证成员",
    "algo.sha256": "SHA-256（在浏览器内计算）",
    "algo.sm3": "SM3 国密（在浏览器内计算）",
    "algo.keccak256": "Keccak-256（文件发送到服务器计算）",
    "status.queued": "排队中",
    "status.batched": "已打包",
    "status.anchored": "已上链",
    "status.revoked": "已撤销",
    "status_long.queued": "已受理，等待打包上链",
    "status_long.batched": "已打包进默克尔树，等待交易确认",
    "status_long.anchored": "已上链存证",
    "status_long.revoked": "已在链上撤销",
    # verify
    "verify.title": "验证文件",
    "verify.lead": "拖入要核验的文件（可一次多个），每个文件一行结论："
    "绿色表示与链上存证完全一致，红色表示未存证或已被修改。",
    "verify.files_heading": "拖入文件",
    "verify.drop": "把文件拖到这里",
    "verify.choose": "或选择文件（可多选）",
    "verify.private": "SHA-256、SM3 与 Keccak-256 都在您的浏览器内计算，"
    "文件不会离开这台电脑；只有摘要发送到服务器查询。",
    "verify.digest_heading": "按摘要验证",
    "verify.digest_label": "文件摘要（64 位十六进制）",
    "verify.digest_hint": "可带 0x 前缀，不区分大小写。",
    "verify.check": "验证",
    "verify.results": "验证结果",
    "verify.none_yet": "还没有验证任何文件。",
    # anchor
    "anchor.title": "上链存证",
    "anchor.lead": "文件在您的浏览器内计算摘要，只有摘要发送到平台，按批次写入区块链；"
    "文件和文件名都不上传。状态会自动更新：排队 → 打包 → 上链。",
    "anchor.upload_heading": "选择文件",
    "anchor.label_hint": "仅您和管理员可见，不上链。",
    "anchor.drop": "把文件拖到这里",
    "anchor.choose": "选择要存证的文件（可多选）",
    "anchor.submit": "提交存证",
    "anchor.progress": "存证进度",
    "anchor.none_yet": "提交后，这里实时显示每个文件的状态。",
    # Who may use a page (the card where a pasted key used to go, _signin_note.html).
    "key.hint_submitter": "此页面需要以提交者（submitter）或管理员身份登录。",
    "key.hint_admin": "此页面需要以管理员（admin）身份登录。",
    "key.hint_viewer": "提交该存证的成员单位人员、管理员或其所属申报的评审员登录后可查看全部信息。",
    # evidence
    "evidence.title": "存证 #{id}",
    "evidence.private_hint": "任何人可见存证编号与状态；摘要、成员、链上数据与盐值仅向提交成员、"
    "管理员及其所属申报的评审员显示：请输入相应的 API 密钥。",
    "evidence.document": "文件",
    "evidence.verify_now": "验证此摘要",
    "evidence.chain": "链上数据",
    "evidence.certificate": "存证证书",
    "evidence.certificate_pdf": "下载证书 PDF",
    "evidence.receipt": "下载存证回执（JSON）",
    "evidence.proof": "默克尔证明",
    "evidence.proof_hint": "叶子 = 哈希(算法, 摘要, 盐值)，"
    "沿证明逐层哈希得到默克尔根，根已写入存证合约。",
    "evidence.proof_empty": "（本批次只有这一份文件：叶子即是根）",
    "evidence.waiting": "尚未上链：本页会在上链后自动刷新。",
    # certificate
    "cert.title": "存证证书",
    "cert.number": "证书编号",
    "cert.print": "打印证书",
    "cert.back": "返回存证详情",
    "cert.qr_title": "扫码验证此文件",
    # explorer
    "explorer.title": "桂链 区块链浏览器",
    "explorer.search_label": "搜索交易哈希、默克尔根、文件摘要、地址或区块号",
    "explorer.search_placeholder": "0x… 或区块号",
    "explorer.search": "搜索",
    "explorer.search_format": "无法识别：请输入区块号、40 位地址或 64 位十六进制哈希。",
    "explorer.search_none": "没有找到与“{q}”相符的交易、根或文件摘要。",
    "explorer.search_many": "找到多个结果：",
    "explorer.chain": "链信息",
    "explorer.deployed_at": "（部署于区块 {block}）",
    "explorer.latest_blocks": "最新区块",
    "explorer.txs": "交易",
    "explorer.registry_txs": "存证交易",
    "explorer.recent_events": "存证合约最新事件",
    "explorer.checkpoints": "主链检查点（信任锚定）",
    "explorer.checkpoints_text": "本链区块哈希按区间写入主链 {chain} 的 ChainRegistry：",
    "explorer.checkpoint_range": "区块区间",
    "explorer.checkpoint_root": "区间根",
    "explorer.checkpoint_main_tx": "主链交易",
    "explorer.no_events": "暂无事件。",
    "explorer.no_txs": "此区块没有交易。",
    "explorer.to_registry": "存证合约",
    "explorer.tx_title": "交易详情",
    "explorer.tx_ok": "成功",
    "explorer.tx_failed": "失败",
    "explorer.contract_creation": "（创建合约）",
    "explorer.decoded_events": "解码后的事件",
    "explorer.other_logs": "另有 {n} 条其他合约的日志未解码。",
    "explorer.not_on_chain": "未在链上",
    "explorer.documents": "本批次的存证",
    "explorer.is_registry": "存证合约",
    "explorer.on_chain_roles": "链上角色",
    "explorer.role_admin": "管理员",
    "explorer.role_member": "成员（可存证）",
    "explorer.role_none": "无",
    "explorer.address_events": "相关事件",
    "explorer.unavailable": "区块链暂不可用",
    "event.Anchored": "存证上链",
    "event.RootRevoked": "整批撤销",
    "event.LeafRevoked": "单个文件撤销",
    "event.RoleGranted": "授予角色",
    "event.RoleRevoked": "撤销角色",
    "kind.block": "区块",
    "kind.tx": "交易",
    "kind.root": "默克尔根",
    "kind.digest": "文件摘要",
    "kind.address": "地址",
    # admin
    "admin.title": "成员、密钥与批次管理",
    "admin.lead": "创建成员单位与 API 密钥、撤销密钥，管理申报批次及其截止时间。"
    "所有操作通过管理 API 完成，需要管理员密钥。",
    "admin.new_key": "新建 API 密钥",
    "admin.create_key": "创建密钥",
    "admin.key_once": "新密钥只显示这一次，请立即复制保存：",
    "admin.new_member": "新建成员单位",
    "admin.create_member": "创建成员",
    "admin.members": "成员单位",
    "admin.keys": "API 密钥",
    "admin.prefix": "前缀",
    "admin.last_used": "最近使用",
    "admin.rounds": "申报批次",
    "admin.rounds_lead": "专项补贴项目的申报批次（如 2023 年批次）。"
    "截止时间之后上链的材料标记为逾期；截止时间可以调整，逾期标记随之重新计算。",
    "admin.round_code": "批次代码",
    "admin.round_code_hint": "1–32 个字符：字母、数字、点、下划线或连字符，如 2024。"
    "创建后不能修改。",
    "admin.round_name": "批次名称",
    "admin.round_deadline": "截止时间（北京时间 UTC+8）",
    "admin.round_deadline_cst": "截止时间（UTC+8）",
    "admin.round_deadline_hint": "项目在广西申报：此处填写的时间一律按北京时间（UTC+8）理解，"
    "与本机所在时区无关。",
    "admin.round_actions": "操作",
    "admin.new_round": "新建批次",
    "admin.create_round": "创建批次",
    "admin.edit_round": "修改批次名称或截止时间",
    "admin.round_pick": "要修改的批次",
    "admin.round_pick_none": "（请选择）",
    "admin.round_edit_hint": "北京时间（UTC+8）。只提交改动的内容；截止时间改到过去，批次即截止。",
    "admin.save_round": "保存修改",
    "role.submitter": "提交者（上传存证）",
    "role.reviewer": "审核者（查看与核验）",
    "role.admin": "管理员",
    # errors
    "error.back": "返回首页",
    "error.not_found": "没有找到",
    "error.not_anchored": "尚未上链，暂无证书",
    "error.no_font": "服务器缺少中文字体，无法生成 PDF",
    # scripts
    "js.verdict.anchored": "✓ 已存证，文件一致",
    "js.verdict.not_found": "✗ 未找到存证",
    "js.verdict.revoked": "✗ 存证已撤销",
    "js.verdict.pending": "… 已受理，尚未上链",
    "js.verdict.chain_mismatch": "! 无法核验",
    "js.verdict.error": "! 出错",
    "js.detail.not_found": "此文件从未存证，或已被修改（哪怕一个字节）。",
    "js.detail.anchored": "文件与链上存证完全一致。",
    "js.hashing": "正在计算摘要…",
    "js.hashing_pct": "正在本机计算摘要 {pct}%（{done} / {total}）",
    "js.hashing_file": "第 {i}/{n} 个文件 {name}",
    "js.checking": "正在查询…",
    "js.algo.sha256": "在浏览器内计算 SHA-256，文件不离开这台电脑。",
    "js.algo.sm3": "在浏览器内用国密 SM3 计算，文件不离开这台电脑。",
    "js.algo.keccak256": "在浏览器内计算 Keccak-256，文件不离开这台电脑。",
    "js.digest_invalid": "摘要应为 64 位十六进制数字（可带 0x）。",
    "js.forbidden": "此密钥的角色无权执行该操作。",
    "js.no_files": "请先选择文件。",
    "js.failed": "请求失败：{message}",
    "js.accepted": "已受理 {n} 个文件。",
    "js.step.queued": "排队",
    "js.step.batched": "打包",
    "js.step.anchored": "上链",
    "js.status.revoked": "已撤销",
    "js.open_evidence": "存证详情",
    "js.certificate": "证书",
    "js.receipt": "回执",
    "js.block": "区块 {n}",
    "js.verify_again": "再次验证",
    "js.admin.loaded": "已加载 {members} 个成员、{keys} 个密钥。",
    "js.admin.revoke": "撤销",
    "js.admin.confirm_revoke": "确定撤销密钥 #{id}（{prefix}…）？撤销后立即失效。",
    "js.admin.revoked": "已撤销 {when}",
    "js.admin.active": "有效",
    "js.admin.never": "从未",
    "js.admin.created_member": "已创建成员：{name}",
    "js.admin.created_key": "已为 {org} 创建 {role} 密钥 #{id}。",
    "js.admin.revoked_key": "已撤销密钥 #{id}。",
    "js.admin.round_open": "开放中",
    "js.admin.round_closed": "已截止",
    "js.admin.round_change": "修改",
    "js.admin.round_change_label": "修改批次 {code}",
    "js.admin.rounds_failed": "无法加载申报批次：{message}",
    "js.admin.created_round": "已创建批次 {code}，截止 {deadline}。",
    "js.admin.updated_round": "已修改批次 {code}：{name}，截止 {deadline}，{state}。",
    "js.admin.round_unchanged": "没有改动，未提交。",
    "js.admin.round_pick_first": "请先选择要修改的批次。",
    "js.print": "打印",
}

EN: Final[dict[str, str]] = {
    "app.tagline": "Blockchain evidence",
    "lang.switch": "中文",
    "nav.label": "Main",
    "nav.skip": "Skip to content",
    "nav.verify": "Verify",
    "nav.anchor": "Anchor",
    "nav.explorer": "Explorer",
    "nav.admin": "Admin",
    "footer.text": "ChainProof · files are hashed on your device; only digests go on chain",
    "footer.api": "API docs",
    "home.title": "Blockchain evidence for the Guilian chain",
    "home.lead": "Put a document's fingerprint (its digest) on a blockchain to prove it existed at "
    "a moment and has not changed since. Reviewers drop the files in front of them and get a "
    "green (identical) or red (not identical) answer at once.",
    "home.cta_verify": "Verify files",
    "home.cta_anchor": "Anchor files",
    "home.pages": "Pages",
    "home.verify_text": "Drop one or many files: they are hashed in your browser and checked "
    "against the chain. The files never leave your computer.",
    "home.anchor_text": "Upload application documents or invoices with an API key and watch "
    "them go queued → batched → anchored.",
    "home.explorer_text": "Latest blocks, the registry's transactions and decoded events; "
    "search by tx hash, root, digest or address.",
    "home.admin_text": "Member organisations, API keys and rounds (admin key).",
    "home.how": "How it works",
    "home.step1": "A digest of the file is computed (SHA-256 or SM3); the content is never "
    "stored or put on chain.",
    "home.step2": "Digests are batched into a Merkle tree whose root goes into the registry "
    "contract: the block's time is the evidence time.",
    "home.step3": "Anyone with the original file or the receipt can verify it independently, "
    "without trusting this platform.",
    "home.chain": "Chain connection",
    "home.chain_ok": "OK: connected to the chain the evidence is on",
    "home.chain_bad": "The chain is unavailable: no “anchored” verdict is given meanwhile.",
    "field.algorithm": "Digest algorithm",
    "field.digest": "Digest",
    "field.member": "Member",
    "field.status": "Status",
    "field.filename": "File name",
    "field.label": "Label",
    "field.business_type": "Business type",
    "field.metadata": "Metadata",
    "field.size": "Size",
    "field.created_at": "Submitted",
    "field.time": "Time (block timestamp)",
    "field.block": "Block",
    "field.block_hash": "Block hash",
    "field.tx": "Transaction",
    "field.chain_id": "Chain id",
    "field.contract": "Registry contract",
    "field.submitter": "Submitted by",
    "field.salt": "Salt",
    "field.leaf": "Leaf hash",
    "field.proof": "Merkle proof",
    "field.root": "Merkle root",
    "field.node": "Node",
    "field.latest_block": "Latest block",
    "field.parent": "Parent block",
    "field.gas_used": "Gas used",
    "field.from": "From",
    "field.to": "To",
    "field.nonce": "Nonce",
    "field.method": "Method",
    "field.address": "Address",
    "field.role": "Role",
    "field.org": "Organisation name",
    "field.leaf_count": "Documents (leaves)",
    "col.document": "Document",
    "col.verdict": "Verdict",
    "col.time": "Time",
    "col.block": "Block",
    "col.member": "Member",
    "algo.sha256": "SHA-256 (computed in your browser)",
    "algo.sm3": "SM3 (computed in your browser)",
    "algo.keccak256": "Keccak-256 (file sent to the server)",
    "status.queued": "Queued",
    "status.batched": "Batched",
    "status.anchored": "Anchored",
    "status.revoked": "Revoked",
    "status_long.queued": "Accepted, waiting for a batch",
    "status_long.batched": "In a Merkle batch, waiting for its transaction",
    "status_long.anchored": "Anchored on chain",
    "status_long.revoked": "Revoked on chain",
    "verify.title": "Verify files",
    "verify.lead": "Drop the files to check (several at once if you like). Each gets a row: "
    "green means identical to what was anchored, red means not anchored or modified.",
    "verify.files_heading": "Drop files",
    "verify.drop": "Drop files here",
    "verify.choose": "or choose files (several allowed)",
    "verify.private": "SHA-256, SM3 and Keccak-256 are computed in your browser: the files "
    "never leave this computer; only their digests are sent to the server.",
    "verify.digest_heading": "Verify a digest",
    "verify.digest_label": "Digest (64 hex digits)",
    "verify.digest_hint": "0x optional, any case.",
    "verify.check": "Verify",
    "verify.results": "Results",
    "verify.none_yet": "Nothing verified yet.",
    "anchor.title": "Anchor files",
    "anchor.lead": "Files are hashed in your browser; only their digests go to the platform, "
    "which anchors them in batches (neither files nor names are sent). The status updates by "
    "itself: queued → batched → anchored.",
    "anchor.upload_heading": "Files",
    "anchor.label_hint": "Seen by you and admins only; never on chain.",
    "anchor.drop": "Drop files here",
    "anchor.choose": "Choose the files to anchor (several allowed)",
    "anchor.submit": "Anchor",
    "anchor.progress": "Progress",
    "anchor.none_yet": "Once submitted, each file's status shows here live.",
    "key.hint_submitter": "This page is for people signed in as a submitter or an admin.",
    "key.hint_admin": "This page is for people signed in as an admin.",
    "key.hint_viewer": "People of the member that submitted this record, admins and reviewers "
    "of its application see everything once signed in.",
    "evidence.title": "Evidence #{id}",
    "evidence.private_hint": "Anyone sees the id and status; the digest, member, chain data and "
    "salt are shown to the submitting member, admins and reviewers of its application only: "
    "enter such an API key.",
    "evidence.document": "Document",
    "evidence.verify_now": "Verify this digest",
    "evidence.chain": "On chain",
    "evidence.certificate": "Certificate",
    "evidence.certificate_pdf": "Certificate PDF",
    "evidence.receipt": "Download the receipt (JSON)",
    "evidence.proof": "Merkle proof",
    "evidence.proof_hint": "leaf = hash(algorithm, digest, salt); hashing up the proof gives "
    "the Merkle root, which the registry contract holds.",
    "evidence.proof_empty": "(the only document of its batch: the leaf is the root)",
    "evidence.waiting": "Not anchored yet: this page refreshes itself once it is.",
    "cert.title": "Evidence certificate",
    "cert.number": "Certificate No.",
    "cert.print": "Print",
    "cert.back": "Back to the evidence",
    "cert.qr_title": "Scan to verify this document",
    "explorer.title": "Guilian block explorer",
    "explorer.search_label": "Search a tx hash, Merkle root, digest, address or block number",
    "explorer.search_placeholder": "0x… or a block number",
    "explorer.search": "Search",
    "explorer.search_format": "Not recognised: enter a block number, a 40-hex-digit address "
    "or a 64-hex-digit hash.",
    "explorer.search_none": "No transaction, root or digest matches “{q}”.",
    "explorer.search_many": "Several matches:",
    "explorer.chain": "Chain",
    "explorer.deployed_at": "(deployed in block {block})",
    "explorer.latest_blocks": "Latest blocks",
    "explorer.txs": "Transactions",
    "explorer.registry_txs": "Registry txs",
    "explorer.recent_events": "Latest registry events",
    "explorer.checkpoints": "Main-chain checkpoints (trust anchoring)",
    "explorer.checkpoints_text": "This chain's block hashes, posted by range to ChainRegistry "
    "on main chain {chain}:",
    "explorer.checkpoint_range": "Blocks",
    "explorer.checkpoint_root": "Range root",
    "explorer.checkpoint_main_tx": "Main-chain tx",
    "explorer.no_events": "No events yet.",
    "explorer.no_txs": "No transactions in this block.",
    "explorer.to_registry": "Registry",
    "explorer.tx_title": "Transaction",
    "explorer.tx_ok": "Success",
    "explorer.tx_failed": "Failed",
    "explorer.contract_creation": "(contract creation)",
    "explorer.decoded_events": "Decoded events",
    "explorer.other_logs": "{n} more logs of other contracts, not decoded.",
    "explorer.not_on_chain": "Not on chain",
    "explorer.documents": "Documents in this batch",
    "explorer.is_registry": "Registry contract",
    "explorer.on_chain_roles": "Roles on chain",
    "explorer.role_admin": "Admin",
    "explorer.role_member": "Member (may anchor)",
    "explorer.role_none": "None",
    "explorer.address_events": "Events",
    "explorer.unavailable": "The chain is unavailable",
    "event.Anchored": "root anchored",
    "event.RootRevoked": "whole batch revoked",
    "event.LeafRevoked": "one document revoked",
    "event.RoleGranted": "role granted",
    "event.RoleRevoked": "role revoked",
    "kind.block": "Block",
    "kind.tx": "Transaction",
    "kind.root": "Merkle root",
    "kind.digest": "Document digest",
    "kind.address": "Address",
    "admin.title": "Members, keys and rounds",
    "admin.lead": "Create member organisations and API keys, revoke keys, manage the "
    "programme's rounds and their deadlines. Everything goes through the admin API and needs "
    "an admin key.",
    "admin.new_key": "New API key",
    "admin.create_key": "Create key",
    "admin.key_once": "The new key is shown this once: copy it now.",
    "admin.new_member": "New member organisation",
    "admin.create_member": "Create member",
    "admin.members": "Members",
    "admin.keys": "API keys",
    "admin.prefix": "Prefix",
    "admin.last_used": "Last used",
    "admin.rounds": "Rounds",
    "admin.rounds_lead": "The subsidy programme's application rounds (such as 2023). Documents "
    "anchored after a round's deadline are marked late; a deadline can be moved and the late "
    "marks follow.",
    "admin.round_code": "Round code",
    "admin.round_code_hint": "1 to 32 letters, digits, dots, underscores or hyphens, e.g. 2024. "
    "It cannot be changed later.",
    "admin.round_name": "Round name",
    "admin.round_deadline": "Deadline (Beijing time, UTC+8)",
    "admin.round_deadline_cst": "Deadline (UTC+8)",
    "admin.round_deadline_hint": "The programme runs in Guangxi: the time entered here is read "
    "as Beijing time (UTC+8), whatever this computer's time zone.",
    "admin.round_actions": "Actions",
    "admin.new_round": "New round",
    "admin.create_round": "Create round",
    "admin.edit_round": "Rename a round or move its deadline",
    "admin.round_pick": "Round to change",
    "admin.round_pick_none": "(choose one)",
    "admin.round_edit_hint": "Beijing time (UTC+8). Only what you change is sent; a deadline in "
    "the past closes the round.",
    "admin.save_round": "Save changes",
    "role.submitter": "Submitter (anchors documents)",
    "role.reviewer": "Reviewer (reads and verifies)",
    "role.admin": "Admin",
    "error.back": "Back to the home page",
    "error.not_found": "Not found",
    "error.not_anchored": "Not anchored yet: no certificate",
    "error.no_font": "The server has no CJK font: no PDF",
    "js.verdict.anchored": "✓ Anchored, identical",
    "js.verdict.not_found": "✗ Not found",
    "js.verdict.revoked": "✗ Revoked",
    "js.verdict.pending": "… Accepted, not anchored yet",
    "js.verdict.chain_mismatch": "! Cannot verify",
    "js.verdict.error": "! Error",
    "js.detail.not_found": "This file was never anchored, or it was modified (even by one byte).",
    "js.detail.anchored": "The file is identical to what was anchored.",
    "js.hashing": "Hashing…",
    "js.hashing_pct": "Hashing on this device {pct}% ({done} of {total})",
    "js.hashing_file": "File {i} of {n}, {name}",
    "js.checking": "Checking…",
    "js.algo.sha256": "Computed in your browser (SHA-256): the file stays on this computer.",
    "js.algo.sm3": "Computed in your browser (SM3): the file stays on this computer.",
    "js.algo.keccak256": "Computed in your browser (Keccak-256): the file stays on this computer.",
    "js.digest_invalid": "A digest is 64 hex digits (0x optional).",
    "js.forbidden": "This key's role may not do that.",
    "js.no_files": "Choose files first.",
    "js.failed": "Request failed: {message}",
    "js.accepted": "{n} file(s) accepted.",
    "js.step.queued": "Queued",
    "js.step.batched": "Batched",
    "js.step.anchored": "Anchored",
    "js.status.revoked": "Revoked",
    "js.open_evidence": "Details",
    "js.certificate": "Certificate",
    "js.receipt": "Receipt",
    "js.block": "block {n}",
    "js.verify_again": "Verify again",
    "js.admin.loaded": "Loaded {members} members and {keys} keys.",
    "js.admin.revoke": "Revoke",
    "js.admin.confirm_revoke": "Revoke key #{id} ({prefix}…)? It stops working at once.",
    "js.admin.revoked": "revoked {when}",
    "js.admin.active": "active",
    "js.admin.never": "never",
    "js.admin.created_member": "Member created: {name}",
    "js.admin.created_key": "Created a {role} key #{id} for {org}.",
    "js.admin.revoked_key": "Key #{id} revoked.",
    "js.admin.round_open": "open",
    "js.admin.round_closed": "closed",
    "js.admin.round_change": "Change",
    "js.admin.round_change_label": "Change round {code}",
    "js.admin.rounds_failed": "Could not load the rounds: {message}",
    "js.admin.created_round": "Round {code} created, deadline {deadline}.",
    "js.admin.updated_round": "Round {code} changed: {name}, deadline {deadline}, {state}.",
    "js.admin.round_unchanged": "Nothing changed: nothing sent.",
    "js.admin.round_pick_first": "Choose the round to change first.",
    "js.print": "Print",
}

# The subsidy pages keep their messages in their own module (web/i18n_subsidy.py).
ZH.update(i18n_subsidy.ZH)
EN.update(i18n_subsidy.EN)
ZH.update(i18n_trace.ZH)  # the scan page (web/i18n_trace.py)
EN.update(i18n_trace.EN)
ZH.update(i18n_receipt.ZH)  # the in-browser receipt page (web/i18n_receipt.py)
EN.update(i18n_receipt.EN)
ZH.update(i18n_accounts.ZH)  # sign-in, invitation and account pages (web/i18n_accounts.py)
EN.update(i18n_accounts.EN)
ZH.update(i18n_recordings.ZH)  # the recording page (web/recording_pages.py)
EN.update(i18n_recordings.EN)
ZH.update(i18n_licences.ZH)  # the licence pages (web/licence_pages.py)
EN.update(i18n_licences.EN)
ZH.update(i18n_draws.ZH)  # the public draw page (web/i18n_draws.py)
EN.update(i18n_draws.EN)
ZH.update(i18n_admin.ZH)  # the network and audit pages (web/admin_pages.py)
EN.update(i18n_admin.EN)

CATALOGS: Final[dict[Lang, dict[str, str]]] = {"zh-CN": ZH, "en": EN}


def normalise_lang(value: str | None) -> Lang | None:
    """``"en"``, ``"zh-CN"`` (and aliases like ``zh``) → a known language, else None."""
    if not value:
        return None
    return _ALIASES.get(value.strip().lower())


def pick_lang(query: str | None, cookie: str | None) -> Lang:
    return normalise_lang(query) or normalise_lang(cookie) or DEFAULT_LANG


def request_lang(request: Request) -> Lang:
    """The language a page answers ``request`` in: ``?lang=``, else the cookie, else the
    default."""
    return pick_lang(request.query_params.get("lang"), request.cookies.get(COOKIE))


def message(lang: Lang, key: str, **fields: object) -> str:
    """The message ``key`` in ``lang`` (falling back to the other language), filled in.

    A key missing from both catalogs is a bug in a template: KeyError, caught by the tests.
    """
    catalog = CATALOGS.get(lang, ZH)
    text = catalog.get(key)
    if text is None:
        text = ZH.get(key) if catalog is EN else EN.get(key)
    if text is None:
        raise KeyError(f"no message {key!r}")
    return text.format(**fields) if fields else text


def translator(lang: Lang) -> Callable[..., str]:
    def t(key: str, **fields: object) -> str:
        return message(lang, key, **fields)

    return t


def optional_translator(lang: Lang) -> Callable[[str], str]:
    """Like :func:`translator`, but an unknown key is an empty string (event names)."""

    def t_opt(key: str) -> str:
        return message(lang, key) if key in CATALOGS.get(lang, ZH) else ""

    return t_opt


def js_messages(lang: Lang) -> dict[str, str]:
    """The ``js.`` messages, keys without the prefix, for the page's scripts."""
    catalog = CATALOGS.get(lang, ZH)
    return {k[3:]: v for k, v in catalog.items() if k.startswith("js.")}
