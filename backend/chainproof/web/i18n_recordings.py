"""Messages of the recording page ``/recordings/{id}`` (issue 20), merged into ``web/i18n.py``."""

from __future__ import annotations

from typing import Final

ZH: Final[dict[str, str]] = {
    "rec.title": "执法记录 {id}",
    "rec.lead": (
        "录制过程中每段数据的摘要按顺序链接（每段承诺前一段）并实时上链；"
        "任何一处改动都会使该段及其后的链接不符。"
    ),
    "rec.summary": "概况",
    "rec.certificate": "存证证书",
    "rec.label": "标签",
    "rec.segment_bytes": "分段大小（字节）",
    "rec.segments": "已收到分段",
    "rec.anchored": "已上链分段",
    "rec.size": "已覆盖字节",
    "rec.closed": "录制已结束",
    "rec.open": "仍在录制",
    "rec.file_digest": "完整文件摘要",
    "rec.timeline": "分段时间线",
    "rec.col.index": "分段",
    "rec.col.bytes": "字节范围",
    "rec.col.digest": "摘要",
    "rec.col.claimed": "记录仪时间（声明）",
    "rec.col.anchored": "上链时间（区块）",
    "rec.pending": "等待上链",
    "rec.note": (
        "记录仪时间只是声明；区块时间证明该段“不晚于”此时已存在。"
        "核验：chainproof verify-recording 文件 --recording {id}"
    ),
}

EN: Final[dict[str, str]] = {
    "rec.title": "Recording {id}",
    "rec.lead": (
        "Each segment's digest is chained to the one before it and anchored while the "
        "recording runs; a change anywhere breaks that segment's link and every one after it."
    ),
    "rec.summary": "Summary",
    "rec.certificate": "Certificate",
    "rec.label": "Label",
    "rec.segment_bytes": "Segment size (bytes)",
    "rec.segments": "Segments received",
    "rec.anchored": "Segments anchored",
    "rec.size": "Bytes covered",
    "rec.closed": "Recording closed",
    "rec.open": "Still recording",
    "rec.file_digest": "Whole file's digest",
    "rec.timeline": "Segment timeline",
    "rec.col.index": "Segment",
    "rec.col.bytes": "Bytes",
    "rec.col.digest": "Digest",
    "rec.col.claimed": "Recorder's time (a claim)",
    "rec.col.anchored": "On chain since (block)",
    "rec.pending": "waiting for its batch",
    "rec.note": (
        "The recorder's times are claims; a block's time proves the segment existed no later "
        "than then. Check a file: chainproof verify-recording FILE --recording {id}"
    ),
}
