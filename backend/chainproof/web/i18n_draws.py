"""Messages of the public draw page ``/draws/{id}`` (issue #21), merged into ``web/i18n.py``.

Same conventions as ``i18n.py``: dotted keys, ``{field}`` placeholders; ``js.`` keys are also
sent to the page's script (``static/js/draw.js`` reads them without the prefix).
"""

from __future__ import annotations

from typing import Final

ZH: Final[dict[str, str]] = {
    "draw.title": "随机抽取",
    "draw.not_found": "没有这个抽取",
    "draw.status": "状态",
    "draw.status.committed": "已承诺，等待目标区块",
    "draw.status.drawn": "已抽取",
    "draw.status.void": "作废",
    "draw.count": "抽取数量",
    "draw.candidates": "候选名单（{n} 个，按公布顺序）",
    "draw.target_block": "目标区块",
    "draw.candidates_hash": "名单哈希",
    "draw.secret_commitment": "秘密值承诺",
    "draw.record_digest": "上链承诺记录",
    "draw.anchor_block": "承诺所在区块",
    "draw.block_hash": "目标区块哈希",
    "draw.secret": "公开的秘密值",
    "draw.selected": "抽中（按抽取顺序）",
    "draw.void_reason": "作废原因",
    "draw.how": (
        "种子 = keccak256(目标区块哈希 ‖ 秘密值)，Fisher–Yates 洗牌（docs/draws.md）。"
        "命令行：chainproof draw verify {id} --server URL --rpc URL --trust 信任锚"
    ),
    "draw.receipt": "承诺记录的存证回执",
    "js.draw.checking": "正在本浏览器中重新计算……",
    "js.draw.pending": "尚未抽取：目标区块之后才公开秘密值。",
    "js.draw.ok": "本浏览器重新计算的结果与公布的一致：{selected}",
    "js.draw.bad": "本浏览器重新计算的结果与公布的不一致：{reason}",
    "js.draw.no_hash": "本浏览器无法计算 keccak-256。",
    "js.draw.node_ok": "目标区块哈希已由节点 {url} 确认。",
    "js.draw.node_bad": "节点 {url} 给出的目标区块哈希不同：{hash}",
    "js.draw.node_unreachable": "无法询问节点 {url}：{message}",
}

EN: Final[dict[str, str]] = {
    "draw.title": "Random draw",
    "draw.not_found": "No such draw",
    "draw.status": "Status",
    "draw.status.committed": "committed, waiting for the target block",
    "draw.status.drawn": "drawn",
    "draw.status.void": "void",
    "draw.count": "To draw",
    "draw.candidates": "Candidates ({n}, in published order)",
    "draw.target_block": "Target block",
    "draw.candidates_hash": "Candidate-list hash",
    "draw.secret_commitment": "Secret commitment",
    "draw.record_digest": "Commitment record on chain",
    "draw.anchor_block": "Anchored in block",
    "draw.block_hash": "Target block hash",
    "draw.secret": "Revealed secret",
    "draw.selected": "Selected (in draw order)",
    "draw.void_reason": "Why void",
    "draw.how": (
        "seed = keccak256(target block hash ‖ secret), Fisher–Yates shuffle (docs/draws.md). "
        "Command line: chainproof draw verify {id} --server URL --rpc URL --trust ANCHOR"
    ),
    "draw.receipt": "Receipt of the commitment record",
    "js.draw.checking": "Recomputing in this browser…",
    "js.draw.pending": "Not drawn yet: the secret is revealed after the target block.",
    "js.draw.ok": "Recomputed in this browser, equal to the published selection: {selected}",
    "js.draw.bad": "Recomputed in this browser, NOT the published selection: {reason}",
    "js.draw.no_hash": "This browser cannot compute keccak-256.",
    "js.draw.node_ok": "Target block hash confirmed by the node at {url}.",
    "js.draw.node_bad": "The node at {url} gives another target block hash: {hash}",
    "js.draw.node_unreachable": "Could not ask the node at {url}: {message}",
}
