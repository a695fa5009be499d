"""Messages of the admin panel's network and audit pages (issue 25), merged into ``web/i18n.py``."""

from __future__ import annotations

from typing import Final

ZH: Final[dict[str, str]] = {
    "net.title": "网络监控",
    "net.lead": (
        "每个 RPC 节点的状态、区块高度、落后块数与延迟；写链进程、队列、当日 Gas 与签名账户余额。"
    ),
    "net.ok": "一切正常：没有告警。",
    "net.endpoints": "RPC 节点",
    "net.endpoint": "节点",
    "net.head": "区块高度",
    "net.lag": "落后块数",
    "net.latency": "延迟（毫秒）",
    "net.reason": "原因",
    "net.state.preferred": "正常（首选）",
    "net.state.healthy": "正常",
    "net.state.down": "故障",
    "net.writer": "写链与队列",
    "net.kind": "链类型",
    "net.best_head": "最高区块",
    "net.head_age": "距上一区块（秒）",
    "net.writer_state": "写链进程",
    "net.queue": "排队存证",
    "net.gas_today": "今日 Gas",
    "net.signer": "签名账户",
    "net.balance": "余额（wei）",
    "audit.title": "审计侧链",
    "audit.lead": (
        "平台自身的每个管理操作（密钥、角色、前缀、成员、撤销、导出），逐条哈希链接并上链。"
    ),
    "audit.action": "操作",
    "audit.filter": "筛选",
    "audit.at": "时间（UTC）",
    "audit.actor": "操作者",
    "audit.target": "对象",
    "audit.hash": "记录哈希",
    "audit.next": "下一页",
    "audit.verify_hint": "用 chainproof audit verify 重算整条链并核对上链的链头。",
}

EN: Final[dict[str, str]] = {
    "net.title": "Network",
    "net.lead": (
        "Each RPC endpoint's state, head, lag and latency; the writer, the queue, gas spent "
        "today and the signing account's balance."
    ),
    "net.ok": "All well: no warnings.",
    "net.endpoints": "RPC endpoints",
    "net.endpoint": "Endpoint",
    "net.head": "Head",
    "net.lag": "Lag (blocks)",
    "net.latency": "Latency (ms)",
    "net.reason": "Why",
    "net.state.preferred": "up (preferred)",
    "net.state.healthy": "up",
    "net.state.down": "down",
    "net.writer": "Writer and queue",
    "net.kind": "Chain",
    "net.best_head": "Best head",
    "net.head_age": "Since the last block (s)",
    "net.writer_state": "Writer",
    "net.queue": "Queued records",
    "net.gas_today": "Gas today",
    "net.signer": "Signing account",
    "net.balance": "Balance (wei)",
    "audit.title": "Audit log",
    "audit.lead": (
        "Every administrative action of the platform itself (keys, roles, prefixes, members, "
        "revocations, exports), hash-chained entry by entry and anchored."
    ),
    "audit.action": "Action",
    "audit.filter": "Filter",
    "audit.at": "When (UTC)",
    "audit.actor": "Actor",
    "audit.target": "On",
    "audit.hash": "Record hash",
    "audit.next": "Next page",
    "audit.verify_hint": (
        "chainproof audit verify recomputes the chain and checks its anchored heads."
    ),
}
