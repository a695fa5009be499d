"""Demo data from the source documents: a 2023 subsidy application's files, anchored.

The texts are short stand-ins written from the guide (``shared/seeds/000_*.txt``): an
application form (申报书), a purchase contract (采购合同) and an invoice (发票) of an
applicant unit in Guangxi, plus a traceability record for 融安金桔 from the white paper's
附件2. They are anchored through the public API, exactly as a user would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_ORG = "广西桂链示范科技有限公司"
REVIEWER_ORG = "中国—东盟区块链创新中心"

DEMO_DOCUMENTS: dict[str, str] = {
    "申报书-区块链+农业-融安金桔溯源.txt": (
        "中国—东盟区块链创新中心2023年专项补贴项目申报书\n"
        "申报单位：广西桂链示范科技有限公司\n"
        "支持范围：“区块链+农业”应用 —— 农产品溯源\n"
        "项目名称：融安金桔一物一码区块链溯源示范应用\n"
        "申报类别：现金补贴（区块链示范应用）+ 区块链云资源补贴\n"
        "自费投资金额：120万元；申请现金补贴：60万元\n"
        "研发及实施人员：18人；申请云资源补贴上限：50万元\n"
    ),
    "采购合同-HT-2023-0815.txt": (
        "采购合同 编号 HT-2023-0815\n"
        "甲方：广西桂链示范科技有限公司  乙方：南宁数链信息技术有限公司\n"
        "标的：溯源标签赋码设备及区块链溯源系统开发\n"
        "合同金额：人民币壹佰贰拾万元整（¥1,200,000.00）\n"
    ),
    "发票-45012300-00881234.txt": (
        "增值税专用发票  发票代码 4501230000  发票号码 00881234\n"
        "购买方：广西桂链示范科技有限公司\n"
        "销售方：南宁数链信息技术有限公司\n"
        "价税合计：¥1,200,000.00\n"
    ),
    "溯源记录-融安金桔-批次20231101.json": (
        '{"product": "融安金桔", "lot": "RA-20231101", "bizStep": "harvesting",'
        ' "location": "广西柳州市融安县", "time": "2023-11-01T08:30:00+08:00"}\n'
    ),
}


@dataclass(frozen=True)
class DemoFile:
    name: str
    path: Path


def write_demo_documents(folder: Path) -> list[DemoFile]:
    """Writes the demo files (UTF-8) and returns them in a stable order."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in DEMO_DOCUMENTS.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        out.append(DemoFile(name, path))
    return out
