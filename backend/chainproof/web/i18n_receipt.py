"""Messages of the in-browser receipt page ``/receipt``, merged into ``web/i18n.py``.

Kept apart so this page and the others never edit the same lines. Same conventions as
``i18n.py``: dotted keys, ``{field}`` placeholders, ``js.`` keys are also sent to the page's
script (``static/js/receipt.js`` reads them without the prefix).

The check details say in the page's language what ``chainproof.receipts`` says in English;
the English ones are worded as that module's, so the CLI, the API and the page agree. A
revocation reason starts with "revoked" in English, as ``verify_receipt``'s does.
"""

from __future__ import annotations

from typing import Final

from chainproof.receipts import ONLINE_CHECKS

# The checks the page runs, in order: the document's digest, then verify_receipt's own.
CHECK_NAMES: Final = ("document", *ONLINE_CHECKS)

ZH: Final[dict[str, str]] = {
    # the page (server-rendered)
    "receipt_page.title": "在浏览器中验证存证回执",
    "receipt_page.lead": "选择存证回执（JSON 文件），可再选择原文件，本页在您的浏览器里独立核验："
    "默克尔证明在本机计算，链上数据直接向您填写的区块链节点（JSON-RPC）查询。"
    "回执和文件都不会发送给 ChainProof 服务器，因此无需信任本平台。",
    "receipt_page.inputs": "回执与节点",
    "receipt_page.receipt_label": "存证回执（JSON 文件）",
    "receipt_page.receipt_drop": "把回执文件拖到这里",
    "receipt_page.document_label": "原文件（可选，用于核对文件摘要）",
    "receipt_page.document_drop": "把原文件拖到这里（可选）",
    "receipt_page.document_clear": "不核对文件",
    "receipt_page.rpc_label": "区块链节点 JSON-RPC 地址",
    "receipt_page.rpc_hint": "已预填本链的公开节点；可以换成您自己的节点。"
    "核验时本页只向这个地址发送请求。",
    "receipt_page.rpc_hint_empty": "本服务器的链在进程内运行，没有公开节点地址："
    "请填写一个可访问的节点地址。",
    "receipt_page.trust_label": "信任锚（chainproof-trust-anchor/1）",
    "receipt_page.trust_hint": "核验只认这里固定的链 ID、创世区块哈希、存证合约地址和合约代码哈希，"
    "不认回执自己怎么说。已从本站预填；请与证书上印的或运营方另行公布的信任锚逐项核对，"
    "或粘贴您自己固定的信任锚。留空时本页不会给出“有效”结论。",
    "receipt_page.run": "开始验证",
    "receipt_page.results": "核验结果",
    "receipt_page.none_yet": "尚未验证。",
    "receipt_page.summary": "回执内容",
    "receipt_page.how": "核验步骤与命令行方式见文档 docs/receipt.md；也可以用命令行 "
    "chainproof verify-receipt receipt.json --rpc 节点地址 --trust 信任锚文件或网址。",
    "receipt_page.link": "有存证回执？在浏览器中独立验证（不经本服务器）",
    "receipt_page.link_short": "在浏览器中验证回执",
    # the script
    "js.receipt_page.check.document": "文件摘要",
    "js.receipt_page.check.offline": "默克尔证明（离线）",
    "js.receipt_page.check.chain_id": "链 ID",
    "js.receipt_page.check.genesis": "创世区块",
    "js.receipt_page.check.registry": "存证合约地址",
    "js.receipt_page.check.contract_code": "存证合约代码",
    "js.receipt_page.check.transaction": "上链交易",
    "js.receipt_page.check.anchored_event": "Anchored 事件",
    "js.receipt_page.check.block": "区块",
    "js.receipt_page.check.anchor": "合约中的存证记录",
    "js.receipt_page.check.leaf_revocation": "单个文件是否撤销",
    "js.receipt_page.check.contract_verify": "合约 verify() 验证",
    "js.receipt_page.passed": "通过",
    "js.receipt_page.failed_check": "未通过",
    "js.receipt_page.chosen": "已选择：{name}（{size}）",
    "js.receipt_page.verdict.valid": "✓ 回执有效",
    "js.receipt_page.verdict.revoked": "✗ 已撤销",
    "js.receipt_page.verdict.invalid": "✗ 回执无效",
    "js.receipt_page.verdict.not_receipt": "✗ 不是存证回执",
    "js.receipt_page.verdict.working": "正在核验…",
    "js.receipt_page.verdict.unpinned": "✗ 未固定信任锚，不能判定有效",
    "js.receipt_page.verdict.bad_anchor": "✗ 信任锚无效",
    "js.receipt_page.unpinned_detail": "各项核验都已通过，但没有信任锚固定链 {chain} 和存证合约 "
    "{contract}：仿冒合约或私有链同样能通过这些核验。请填写信任锚后再验证。",
    "js.receipt_page.trust.prefilled": "已从 {url} 预填。请与证书或运营方另行公布的信任锚核对。",
    "js.receipt_page.trust.prefill_failed": "无法从 {url} 读取信任锚（{message}）：请粘贴信任锚。",
    "js.receipt_page.trust.not_json": "信任锚不是 JSON。",
    "js.receipt_page.trust.not_object": "信任锚不是一个 JSON 对象。",
    "js.receipt_page.trust.format": "信任锚的 format 是 {format}，不是 {want}",
    "js.receipt_page.trust.invalid": "信任锚无效：{problems}",
    "js.receipt_page.trust.trace_pair": "trace_registry 与 trace_registry_code_hash "
    "须同时给出或同时为 null",
    "js.receipt_page.trust.rpc_url": "应为字符串或 null",
    "js.receipt_page.trust.past": "应为 (address, code_hash, version) 对象的列表",
    "js.receipt_page.trust.channels": "应为至多 64 个 (address, code_hash, channel, version) "
    "对象的列表",
    "js.receipt_page.trust.duplicate": "同一合约地址在信任锚中出现了两次",
    "js.receipt_page.valid_detail": "该文件摘要已于 {time} 在链 {chain} 上存证，之后未被撤销。"
    "全部核验都在本浏览器中完成。",
    "js.receipt_page.no_file": "请先选择存证回执文件。",
    "js.receipt_page.unreadable": "无法读取回执文件：{message}",
    "js.receipt_page.not_json": "这不是 JSON 文件，不是 ChainProof 存证回执。",
    "js.receipt_page.not_object": "这个 JSON 不是一个对象，不是 ChainProof 存证回执。",
    "js.receipt_page.not_receipt": "这不是有效的 ChainProof 存证回执：{problems}",
    "js.receipt_page.field.unknown": "未知字段",
    "js.receipt_page.field.missing": "缺少该字段",
    "js.receipt_page.field.hex32": "应为 0x 加 64 位十六进制（32 字节）",
    "js.receipt_page.field.address": "应为 0x 加 40 位十六进制的地址",
    "js.receipt_page.field.checksum": "地址的 EIP-55 校验（大小写）错误",
    "js.receipt_page.field.integer": "应为不小于 {min} 的整数",
    "js.receipt_page.field.version": "不支持的回执版本 {version}：本页只读第 1 版",
    "js.receipt_page.field.algorithm": "应为 sha256、sm3 或 keccak256",
    "js.receipt_page.field.leaf_types": '应为 ["string", "bytes32", "bytes32"]',
    "js.receipt_page.field.leaf_values": "应为三个值 [算法, 摘要, 盐值]",
    "js.receipt_page.field.proof": "应为 32 字节十六进制的列表",
    "js.receipt_page.field.issued_at": "应为带时区的 RFC 3339 时间",
    "js.receipt_page.field.evidence_id": "应为整数或不超过 128 个字符的字符串",
    "js.receipt_page.field.label": "应为不超过 1024 个字符的字符串",
    "js.receipt_page.field.metadata": (
        '应为 {"text", "nonce"}，text 是 {"business_type", "metadata"} 的 JSON'
    ),
    "js.receipt_page.field.more": "另有 {n} 处",
    "js.receipt_page.could_not_run": "{check}核验无法进行：{message}",
    "js.receipt_page.rpc.empty": "没有填写节点地址：请填写区块链节点的 JSON-RPC 地址。",
    "js.receipt_page.rpc.bad_url": "“{url}”不是 http(s) 地址。",
    "js.receipt_page.rpc.unreachable": "无法连接节点 {url}（{message}）。"
    "请检查地址是否正确、节点是否运行；节点还必须允许本页所在网站的跨域请求（CORS）。",
    "js.receipt_page.rpc.mixed": "无法连接节点 {url}（{message}）。"
    "本页是 HTTPS 页面，浏览器不允许它访问 http:// 节点："
    "请改用 https:// 节点地址，并确认节点允许跨域请求（CORS）。",
    "js.receipt_page.rpc.timeout": "节点 {url} 在 {seconds} 秒内没有应答。",
    "js.receipt_page.rpc.http": "节点 {url} 答复了 HTTP {status}，不是 JSON-RPC 结果。",
    "js.receipt_page.rpc.not_jsonrpc": "{url} 的答复不是 JSON-RPC 结果：这是区块链节点的地址吗？",
    "js.receipt_page.rpc.error": "节点对 {method} 返回错误：{message}",
    "js.receipt_page.rpc.short": "节点的答复不足 {n} 个 32 字节字：{got}",
    "js.receipt_page.doc.ok": "{name} 的 {algorithm} 摘要与回执中的摘要一致",
    "js.receipt_page.doc.bad": "文件的 {algorithm} 摘要是 {actual}，不是回执中的摘要 {digest}："
    "这不是存证的那个文件，或文件已被改动",
    "js.receipt_page.offline.ok": "叶子值、叶子哈希与默克尔证明都指向回执中的根",
    "js.receipt_page.offline.value": "leaf_values[{i}] 是 {value}，不是回执的 {name} {want}",
    "js.receipt_page.offline.leaf": "leaf_hash 是 {leaf}，但叶子值的哈希是 {computed}",
    "js.receipt_page.offline.root": "默克尔证明得到 {reached}，不是根 {root}",
    "js.receipt_page.offline.metadata": (
        "业务元数据不是叶子承诺的内容：nonce 与 text 得到盐 {committed}，回执的盐是 {salt}"
    ),
    "js.receipt_page.chain_id.ok": "链 {actual}",
    "js.receipt_page.chain_id.unpinned": "链 {actual}（未固定：没有信任锚）",
    "js.receipt_page.chain_id.pinned": "回执和节点都在链 {actual} 上，信任锚固定的是链 {pinned}",
    "js.receipt_page.genesis.unpinned": "创世区块 {found}（未固定：没有信任锚）",
    "js.receipt_page.genesis.bad": "节点的创世区块是 {found}，信任锚固定的是 {pinned}："
    "这是链 ID 相同的另一条链（私有链或重置过的链），其中的区块和时间不能证明任何事",
    "js.receipt_page.genesis.ok": "创世区块 {found}，与信任锚一致",
    "js.receipt_page.registry.unpinned": "存证合约 {contract}（未固定：没有信任锚）",
    "js.receipt_page.registry.bad": "合约 {contract} 不是信任锚固定的存证合约 {registry}："
    "任何合约都能发出 Anchored 事件，只有固定的那个才算数",
    "js.receipt_page.registry.bad_past": "合约 {contract} 不是信任锚固定的存证合约 {registry}，"
    "也不是它仍承认的旧合约：任何合约都能发出 Anchored 事件，只有固定的那个才算数",
    "js.receipt_page.registry.ok": "{contract} 是信任锚固定的存证合约（第 {version} 版）",
    "js.receipt_page.registry.past": "{contract} 是信任锚仍承认的旧存证合约（第 {version} 版）",
    "js.receipt_page.registry.channel": "{contract} 是信任锚固定的通道「{channel}」的存证合约"
    "（第 {version} 版）",
    "js.receipt_page.chain_id.bad": "节点在链 {actual} 上，回执属于链 {chain}",
    "js.receipt_page.code.ok": "{contract} 处有 {n} 字节合约代码，keccak {hash}，与信任锚一致",
    "js.receipt_page.code.unpinned": "{contract} 处有 {n} 字节合约代码，keccak {hash}（未固定）",
    "js.receipt_page.code.pinned": "{contract} 处代码的哈希是 {hash}，信任锚固定的是 {pinned}",
    "js.receipt_page.code.bad": "此链上 {contract} 处没有合约代码",
    "js.receipt_page.tx.missing": "此链上没有交易 {tx}（从未在此上链，或因链重组被移除）",
    "js.receipt_page.tx.block": "交易 {tx} 在区块 {block}（{hash}）中，"
    "不在区块 {want}（{want_hash}）中",
    "js.receipt_page.tx.failed": "交易 {tx} 执行失败（status {status}）",
    "js.receipt_page.tx.to": "交易 {tx} 发往 {to}，不是 {contract}",
    "js.receipt_page.tx.ok": "交易 {tx} 已在区块 {block} 中成功执行",
    "js.receipt_page.event.none": "交易 {tx} 没有由 {contract} 发出的 Anchored 事件",
    "js.receipt_page.event.root": "交易 {tx} 上链的根是 {roots}，不是 {root}",
    "js.receipt_page.event.submitter": "根 {root} 由 {submitter} 上链，不是 {want}",
    "js.receipt_page.event.time": "Anchored 事件的时间戳是 {timestamp}，回执中是 {want}",
    "js.receipt_page.event.ok": "Anchored(root, {submitter}, leafCount={count}, "
    "timestamp={timestamp})",
    "js.receipt_page.block.missing": "此链还没有区块 {n}",
    "js.receipt_page.block.hash": "此链的区块 {n} 是 {hash}，不是 {want}（链已重组，或是另一条链）",
    "js.receipt_page.block.time": "区块 {n} 的时间戳是 {timestamp}，不是 {want}",
    "js.receipt_page.block.ok": "区块 {n}，时间 {time}，已有 {depth} 个确认",
    "js.receipt_page.anchor.missing": "根 {root} 未在 {contract} 上存证",
    "js.receipt_page.anchor.mismatch": "合约记录根 {root} 的时间为 {timestamp}、区块 {block}，"
    "回执中为 {want}、区块 {want_block}",
    "js.receipt_page.anchor.submitter": "合约记录 {submitter} 上链了 {root}，不是 {want}",
    "js.receipt_page.anchor.revoked": "已撤销：根 {root} 已在 {contract} 上被撤销",
    "js.receipt_page.anchor.ok": "根由 {submitter} 上链，含 {count} 个叶子，未撤销",
    "js.receipt_page.leaf.revoked": "已撤销：根 {root} 中的叶子 {leaf} 已被撤销",
    "js.receipt_page.leaf.ok": "该文件的叶子未被撤销",
    "js.receipt_page.verify.bad": "合约的 verify() 不接受根 {root} 下的叶子 {leaf}",
    "js.receipt_page.verify.ok": "合约 verify(root, leaf, proof) 返回 true",
    "js.receipt_page.sum.digest": "文件摘要（{algorithm}）",
    "js.receipt_page.sum.time": "存证时间（区块时间）",
    "js.receipt_page.sum.chain": "链 ID",
    "js.receipt_page.sum.block": "区块",
    "js.receipt_page.sum.submitter": "上链账户",
    "js.receipt_page.sum.contract": "存证合约",
    "js.receipt_page.sum.label": "备注（未经证明）",
    "js.receipt_page.sum.business_type": "业务类型（已证明）",
    "js.receipt_page.sum.metadata": "业务元数据（已证明）",
}

EN: Final[dict[str, str]] = {
    "receipt_page.title": "Verify a receipt in your browser",
    "receipt_page.lead": "Choose a receipt (a JSON file) and, if you like, the document itself: "
    "this page checks them on its own, in your browser. The Merkle proof is computed here and "
    "the chain is asked directly, at the JSON-RPC node you choose. Neither the receipt nor the "
    "document is sent to the ChainProof server, so you need not trust it.",
    "receipt_page.inputs": "Receipt and node",
    "receipt_page.receipt_label": "Receipt (JSON file)",
    "receipt_page.receipt_drop": "Drop the receipt here",
    "receipt_page.document_label": "Document (optional: checks its digest)",
    "receipt_page.document_drop": "Drop the document here (optional)",
    "receipt_page.document_clear": "Don't check a document",
    "receipt_page.rpc_label": "Chain node JSON-RPC URL",
    "receipt_page.rpc_hint": "Prefilled with this chain's public node; replace it with your own "
    "node if you have one. While verifying, this page sends requests to this URL only.",
    "receipt_page.rpc_hint_empty": "This server's chain runs in process and has no public node "
    "URL: enter the URL of a node you can reach.",
    "receipt_page.trust_label": "Trust anchor (chainproof-trust-anchor/1)",
    "receipt_page.trust_hint": "The verdict rests on the chain id, genesis hash, registry "
    "address and registry code hash pinned here, never on what the receipt says of itself. "
    "Prefilled from this site: compare it with the anchor printed on a certificate or published "
    "by the operator elsewhere, or paste one you pinned yourself. Left empty, this page never "
    "says valid.",
    "receipt_page.run": "Verify",
    "receipt_page.results": "Result",
    "receipt_page.none_yet": "Nothing verified yet.",
    "receipt_page.summary": "What the receipt says",
    "receipt_page.how": "The steps, and how to run them by hand, are in docs/receipt.md; from a "
    "terminal: chainproof verify-receipt receipt.json --rpc URL --trust ANCHOR_FILE_OR_URL.",
    "receipt_page.link": "Have a receipt? Verify it in your browser (without this server)",
    "receipt_page.link_short": "Verify the receipt in the browser",
    "js.receipt_page.check.document": "Document digest",
    "js.receipt_page.check.offline": "Merkle proof (offline)",
    "js.receipt_page.check.chain_id": "Chain id",
    "js.receipt_page.check.genesis": "Genesis block",
    "js.receipt_page.check.registry": "Registry address",
    "js.receipt_page.check.contract_code": "Registry contract code",
    "js.receipt_page.check.transaction": "Anchoring transaction",
    "js.receipt_page.check.anchored_event": "Anchored event",
    "js.receipt_page.check.block": "Block",
    "js.receipt_page.check.anchor": "Anchor in the registry",
    "js.receipt_page.check.leaf_revocation": "Document not revoked",
    "js.receipt_page.check.contract_verify": "Registry verify()",
    "js.receipt_page.passed": "passed",
    "js.receipt_page.failed_check": "failed",
    "js.receipt_page.chosen": "Chosen: {name} ({size})",
    "js.receipt_page.verdict.valid": "✓ Valid receipt",
    "js.receipt_page.verdict.revoked": "✗ Revoked",
    "js.receipt_page.verdict.invalid": "✗ Invalid receipt",
    "js.receipt_page.verdict.not_receipt": "✗ Not a receipt",
    "js.receipt_page.verdict.working": "Verifying…",
    "js.receipt_page.verdict.unpinned": "✗ Not pinned: no valid verdict without a trust anchor",
    "js.receipt_page.verdict.bad_anchor": "✗ Not a trust anchor",
    "js.receipt_page.unpinned_detail": "not pinned: every check passed against the node, but no "
    "trust anchor pins chain {chain} and registry {contract}, and a look-alike contract or a "
    "private chain passes these checks too. Fill in a trust anchor and verify again.",
    "js.receipt_page.trust.prefilled": "Prefilled from {url}. Compare it with the anchor on a "
    "certificate or published by the operator elsewhere.",
    "js.receipt_page.trust.prefill_failed": "Could not read a trust anchor from {url} "
    "({message}): paste one.",
    "js.receipt_page.trust.not_json": "The trust anchor is not JSON.",
    "js.receipt_page.trust.not_object": "The trust anchor is not a JSON object.",
    "js.receipt_page.trust.format": "The trust anchor's format is {format}, not {want}",
    "js.receipt_page.trust.invalid": "invalid trust anchor: {problems}",
    "js.receipt_page.trust.trace_pair": "trace_registry and trace_registry_code_hash go together",
    "js.receipt_page.trust.rpc_url": "must be a string or null",
    "js.receipt_page.trust.past": "must be a list of (address, code_hash, version) objects",
    "js.receipt_page.trust.channels": "must be a list of at most 64 (address, code_hash, "
    "channel, version) objects",
    "js.receipt_page.trust.duplicate": "a registry address appears twice in the anchor",
    "js.receipt_page.valid_detail": "This digest was anchored on chain {chain} at {time} and has "
    "not been revoked. Every check ran in this browser.",
    "js.receipt_page.no_file": "Choose a receipt file first.",
    "js.receipt_page.unreadable": "Could not read the receipt file: {message}",
    "js.receipt_page.not_json": "This is not JSON, so not a ChainProof receipt.",
    "js.receipt_page.not_object": "This JSON is not an object, so not a ChainProof receipt.",
    "js.receipt_page.not_receipt": "This is not a valid ChainProof receipt: {problems}",
    "js.receipt_page.field.unknown": "unknown key",
    "js.receipt_page.field.missing": "missing",
    "js.receipt_page.field.hex32": "must be 0x and 64 hex digits (32 bytes)",
    "js.receipt_page.field.address": "must be an address, 0x and 40 hex digits",
    "js.receipt_page.field.checksum": "bad EIP-55 checksum (letter case) in the address",
    "js.receipt_page.field.integer": "must be an integer ≥ {min}",
    "js.receipt_page.field.version": "unsupported receipt version {version}: this page reads "
    "version 1",
    "js.receipt_page.field.algorithm": "must be sha256, sm3 or keccak256",
    "js.receipt_page.field.leaf_types": 'must be ["string", "bytes32", "bytes32"]',
    "js.receipt_page.field.leaf_values": "must be three values [algorithm, digest, salt]",
    "js.receipt_page.field.proof": "must be a list of 32-byte hex values",
    "js.receipt_page.field.issued_at": "must be an RFC 3339 time with a time zone",
    "js.receipt_page.field.evidence_id": "must be an integer or a string of at most 128 characters",
    "js.receipt_page.field.label": "must be a string of at most 1024 characters",
    "js.receipt_page.field.metadata": (
        'must be {"text", "nonce"}, text the JSON of {"business_type", "metadata"}'
    ),
    "js.receipt_page.field.more": "and {n} more",
    "js.receipt_page.could_not_run": "{check} check could not run: {message}",
    "js.receipt_page.rpc.empty": "No node URL: enter the JSON-RPC URL of a node of the chain.",
    "js.receipt_page.rpc.bad_url": "“{url}” is not an http(s) URL.",
    "js.receipt_page.rpc.unreachable": "Could not reach the node at {url} ({message}). Check the "
    "URL and that the node is running; the node must also allow cross-origin requests (CORS) "
    "from this page's site.",
    "js.receipt_page.rpc.mixed": "Could not reach the node at {url} ({message}). This page is "
    "served over HTTPS and the browser does not let it call an http:// node: use an https:// "
    "node URL, and check the node allows cross-origin requests (CORS).",
    "js.receipt_page.rpc.timeout": "The node at {url} did not answer within {seconds} s.",
    "js.receipt_page.rpc.http": "The node at {url} answered HTTP {status}, not a JSON-RPC result.",
    "js.receipt_page.rpc.not_jsonrpc": "{url} did not answer with JSON-RPC: is it a chain node's "
    "URL?",
    "js.receipt_page.rpc.error": "the node answered {method} with an error: {message}",
    "js.receipt_page.rpc.short": "the node's answer is not {n} 32-byte word(s): {got}",
    "js.receipt_page.doc.ok": "the {algorithm} digest of {name} is the receipt's digest",
    "js.receipt_page.doc.bad": "the document's {algorithm} digest is {actual}, not the receipt's "
    "digest {digest}: this is not the anchored document, or it was modified",
    "js.receipt_page.offline.ok": "leaf values, leaf hash and proof agree with the root",
    "js.receipt_page.offline.value": "leaf_values[{i}] is {value}, not the receipt's {name} {want}",
    "js.receipt_page.offline.leaf": "leaf_hash is {leaf} but the leaf values hash to {computed}",
    "js.receipt_page.offline.root": "the proof leads to {reached}, not to root {root}",
    "js.receipt_page.offline.metadata": (
        "the metadata is not what the leaf committed: nonce and text give salt {committed}, "
        "the receipt's salt is {salt}"
    ),
    "js.receipt_page.chain_id.ok": "chain {actual}",
    "js.receipt_page.chain_id.unpinned": "chain {actual} (not pinned: no trust anchor)",
    "js.receipt_page.chain_id.pinned": "the receipt and the node are on chain {actual}, the "
    "trust anchor pins chain {pinned}",
    "js.receipt_page.genesis.unpinned": "genesis {found} (not pinned: no trust anchor)",
    "js.receipt_page.genesis.bad": "the node's genesis block is {found}, the trust anchor pins "
    "{pinned}: another chain with the same chain id (a private or reset chain), whose blocks "
    "and times prove nothing",
    "js.receipt_page.genesis.ok": "genesis {found}, as pinned",
    "js.receipt_page.registry.unpinned": "registry {contract} (not pinned: no trust anchor)",
    "js.receipt_page.registry.bad": "contract {contract} is not the pinned registry {registry}: "
    "any contract can emit Anchored events, only the pinned one counts",
    "js.receipt_page.registry.bad_past": "contract {contract} is not the pinned registry "
    "{registry} nor a past registry the anchor honours: any contract can emit Anchored events, "
    "only the pinned one counts",
    "js.receipt_page.registry.ok": "{contract} is the pinned registry (version {version})",
    "js.receipt_page.registry.past": "{contract} is a past registry the anchor still honours "
    "(version {version})",
    "js.receipt_page.registry.channel": "{contract} is the pinned registry of channel "
    "'{channel}' (version {version})",
    "js.receipt_page.chain_id.bad": "the node is on chain {actual}, the receipt is for chain "
    "{chain}",
    "js.receipt_page.code.ok": "{n} bytes of code at {contract}, keccak {hash} as pinned",
    "js.receipt_page.code.unpinned": "{n} bytes of code at {contract}, keccak {hash} (not pinned)",
    "js.receipt_page.code.pinned": "the code at {contract} hashes to {hash}, the trust anchor "
    "pins {pinned}",
    "js.receipt_page.code.bad": "no contract code at {contract} on this chain",
    "js.receipt_page.tx.missing": "transaction {tx} is not on this chain (never mined here, or "
    "reorganised out)",
    "js.receipt_page.tx.block": "transaction {tx} is in block {block} ({hash}), not in block "
    "{want} ({want_hash})",
    "js.receipt_page.tx.failed": "transaction {tx} failed (status {status})",
    "js.receipt_page.tx.to": "transaction {tx} was sent to {to}, not {contract}",
    "js.receipt_page.tx.ok": "transaction {tx} succeeded in block {block}",
    "js.receipt_page.event.none": "transaction {tx} emitted no Anchored event from {contract}",
    "js.receipt_page.event.root": "transaction {tx} anchored {roots}, not root {root}",
    "js.receipt_page.event.submitter": "root {root} was anchored by {submitter}, not by {want}",
    "js.receipt_page.event.time": "the Anchored event says timestamp {timestamp}, the receipt "
    "{want}",
    "js.receipt_page.event.ok": "Anchored(root, {submitter}, leafCount={count}, "
    "timestamp={timestamp})",
    "js.receipt_page.block.missing": "this chain has no block {n} yet",
    "js.receipt_page.block.hash": "block {n} is {hash} on this chain, not {want} (a reorganised "
    "or different chain)",
    "js.receipt_page.block.time": "block {n} has timestamp {timestamp}, not {want}",
    "js.receipt_page.block.ok": "block {n} at {time}, {depth} confirmation(s)",
    "js.receipt_page.anchor.missing": "root {root} is not anchored on {contract}",
    "js.receipt_page.anchor.mismatch": "the registry has root {root} anchored at {timestamp} in "
    "block {block}, the receipt says {want} in {want_block}",
    "js.receipt_page.anchor.submitter": "the registry says {submitter} anchored {root}, not {want}",
    "js.receipt_page.anchor.revoked": "revoked: root {root} was revoked on {contract}",
    "js.receipt_page.anchor.ok": "root anchored by {submitter} over {count} leaves, not revoked",
    "js.receipt_page.leaf.revoked": "revoked: leaf {leaf} of root {root} was revoked",
    "js.receipt_page.leaf.ok": "leaf not revoked",
    "js.receipt_page.verify.bad": "the registry's verify() rejects leaf {leaf} under {root}",
    "js.receipt_page.verify.ok": "registry verify(root, leaf, proof) is true",
    "js.receipt_page.sum.digest": "Document digest ({algorithm})",
    "js.receipt_page.sum.time": "Anchored at (block time)",
    "js.receipt_page.sum.chain": "Chain id",
    "js.receipt_page.sum.block": "Block",
    "js.receipt_page.sum.submitter": "Submitting account",
    "js.receipt_page.sum.contract": "Registry contract",
    "js.receipt_page.sum.label": "Label (not proven)",
    "js.receipt_page.sum.business_type": "Business type (proven)",
    "js.receipt_page.sum.metadata": "Metadata (proven)",
}
