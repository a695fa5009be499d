"""The 2023 guide's lists, as data: scopes (一、支持范围), document kinds and 附件4-1.

Source: ``seeds/000_d4fd07a1fd7ecedd.txt`` (中国—东盟区块链创新中心 2023年专项补贴项目申报指南).
Everything here is quoted from it; nothing is computed. The rules that use these lists are
in :mod:`chainproof.subsidy.rules`.

附件4-1 prices are in 元 in the source; :attr:`Package.price_wan` gives them in 万元, the unit
of every rule. The source text ends right after "跨链数据对接服务 … 元/次": that package has no
price in it, so :attr:`Package.price_yuan` is ``None`` and the rules say so instead of
guessing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from chainproof.errors import InvalidInputError

YUAN_PER_WAN: Final = 10_000

# --- 一、支持范围 ------------------------------------------------------------------------------

# Category → the fields the guide lists for it ("…等领域的创新应用"), in the guide's order.
SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "政务": (
        "数据共享交换",
        "社会信用",
        "电子证照",
        "版权保护",
        "可信存证",
        "电子票据",
        "防伪溯源",
        "职权监管",
        "司法",
        "生态环境监测",
        "智慧交通",
    ),
    "农业": (
        "特色农业品牌数字化认证",
        "农产品溯源",
        "农业物联网",
        "农业资源监测",
        "农村金融",
        "农业保险",
    ),
    "工业": (
        "工业互联网",
        "协同设计制造",
        "产品全生命周期管理",
        "能源电力交易",
        "供应链可视化",
        "工业产品追溯",
        "生产线品控",
        "物流运输",
    ),
    "服务业": (
        "供应链金融",
        "支付结算",
        "贸易融资",
        "资产管理",
        "保险",
        "产权交易",
        "知识产权保护",
        "数据交易",
        "跨境电商与物流",
        "旅游信用管理",
    ),
}
SCOPE_SECTIONS: Final = {
    "政务": "一、（一）",
    "农业": "一、（二）",
    "工业": "一、（三）",
    "服务业": "一、（四）",
}


def check_scope(category: str, field: str) -> tuple[str, str]:
    """``(category, field)`` when the guide lists them; InvalidInputError naming the choices.

    ``category`` may be given as "政务" or "区块链+政务".
    """
    short = category.strip().removeprefix("区块链+")
    fields = SCOPES.get(short)
    if fields is None:
        raise InvalidInputError(
            f"scope_category: {category!r} is not one of the guide's scopes "
            f"({', '.join(SCOPES)}; 一、支持范围)",
            field="scope_category",
        )
    if field.strip() not in fields:
        raise InvalidInputError(
            f"scope_field: {field!r} is not a field the guide lists under 区块链+{short} "
            f"({SCOPE_SECTIONS[short]}): {'、'.join(fields)}",
            field="scope_field",
        )
    return short, field.strip()


# --- subsidy kinds and document kinds -------------------------------------------------------


class Request(StrEnum):
    """What an application asks for (三、申报要求)."""

    CASH = "cash"  # 三、（一）1 区块链示范应用 现金补贴
    TRAINING = "training"  # 三、（一）2 区块链产业生态 · 区块链人才培养
    CLOUD = "cloud"  # 三、（二） 云资源补贴


REQUEST_LABELS: Final = {
    Request.CASH: "现金补贴（区块链示范应用）",
    Request.TRAINING: "区块链人才培养",
    Request.CLOUD: "区块链云资源补贴",
}


class DocumentKind(StrEnum):
    """Types of attached documents. 合同/发票 are what 三、（一）1 asks for as proof of
    investment; 人员名单 backs the headcount of 三、（二）; 培训材料 the classes of 三、（一）2."""

    FORM = "申报书"
    CONTRACT = "合同"
    INVOICE = "发票"
    STAFF_LIST = "人员名单"
    TRAINING = "培训材料"
    OTHER = "其他"


# Acceptance (验收) takes "采购合同或发票等相关凭证材料": contracts and invoices only.
ACCEPTANCE_KINDS: Final = (DocumentKind.CONTRACT, DocumentKind.INVOICE)


def parse_kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"kind: {value!r} is not a document type; use one of "
            f"{', '.join(k.value for k in DocumentKind)}",
            field="kind",
        ) from None


# --- 附件4-1 区块链云资源服务清单 --------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One row of 附件4-1: a 服务项目 and its 服务内容描述."""

    item: str
    description: str


@dataclass(frozen=True)
class Package:
    """A package (套餐) of 附件4-1. ``price_yuan`` is ``None`` where the source gives none."""

    code: str
    service_type: str  # 服务类型
    user_type: str  # 用户类型: 管理 / 普通 / -
    name: str  # 套餐名称 (or the 服务项目 where the row has no 套餐)
    unit: str  # 元/年 or 元/次
    price_yuan: int | None
    services: tuple[Service, ...]

    @property
    def price_wan(self) -> Decimal | None:
        return None if self.price_yuan is None else Decimal(self.price_yuan) / YUAN_PER_WAN

    @property
    def title(self) -> str:
        parts = [self.service_type, self.user_type, self.name]
        return " · ".join(p for p in parts if p and p != "-")


_PLATFORM = "区块链基础平台资源"
_CROSS = "区块链跨链服务"
_CLOUD = "区块链云资源服务"
_ENGINE = "区块链引擎服务"

PACKAGES: Final[tuple[Package, ...]] = (
    Package(
        "platform-admin-basic",
        _PLATFORM,
        "管理",
        "基础版",
        "元/年",
        300_000,
        (
            Service(_CLOUD, "提供4核8G，40G系统盘，200G硬盘，5M弹性公网IP（包含4个节点）。"),
            Service(
                _ENGINE,
                "在普通用户版本基础上提供联盟管理、成员管理、通道管理、节点准入管理、"
                "管理员面板等服务。支持不少于4个节点。",
            ),
        ),
    ),
    Package(
        "platform-admin-pro",
        _PLATFORM,
        "管理",
        "专业版",
        "元/年",
        400_000,
        (
            Service(_CLOUD, "提供8核16G，60G系统盘 500G硬盘，10M弹性公网IP（包含5个节点）。"),
            Service(
                _ENGINE,
                "在基础版本的基础上，提供智能合约、分布式数字身份等服务。支持不少于5个节点。",
            ),
        ),
    ),
    Package(
        "platform-admin-flagship",
        _PLATFORM,
        "管理",
        "旗舰版",
        "元/年",
        500_000,
        (
            Service(_CLOUD, "提供8核16G，60G系统盘，500G硬盘，10M弹性公网IP（包含6个节点）。"),
            Service(
                _ENGINE,
                "在专业版的基础上，提供信任锚定、区块链浏览器、跨链数据交互等服务。"
                "支持不少于6个节点。",
            ),
        ),
    ),
    Package(
        "platform-user-basic",
        _PLATFORM,
        "普通",
        "基础版",
        "元/年",
        100_000,
        (
            Service(_CLOUD, "提供4核8G，40G系统盘，200G硬盘，5M弹性公网IP（含2个节点）。"),
            Service(_ENGINE, "提供数据存证、数据溯源、平台设置、开放API等服务。"),
        ),
    ),
    Package(
        "platform-user-pro",
        _PLATFORM,
        "普通",
        "专业版",
        "元/年",
        150_000,
        (
            Service(_CLOUD, "提供8核16G，60G系统盘 500G硬盘， 10M弹性公网IP（含2个节点）。"),
            Service(_ENGINE, "在基础版的基础上，提供审计侧链、随机数、时间戳、虚拟通道等服务。"),
        ),
    ),
    Package(
        "platform-user-flagship",
        _PLATFORM,
        "普通",
        "旗舰版",
        "元/年",
        200_000,
        (
            Service(_CLOUD, "提供8核16G，60G系统盘，500G硬盘，10M弹性公网IP（含4个节点）。"),
            Service(
                _ENGINE,
                "在专业版的基础上，提供区块链私钥安全托管、虚拟通道、业务类型、数据资源等服务。",
            ),
        ),
    ),
    Package(
        "crosschain-basic",
        _CROSS,
        "-",
        "跨链基础服务",
        "元/次",
        300_000,
        (
            Service(
                "跨链基础服务",
                "提供基于主链的跨链协同基础服务平台，提供包括二级链注册、信任锚定等功能。",
            ),
        ),
    ),
    Package(
        "crosschain-data",
        _CROSS,
        "-",
        "跨链数据对接服务",
        "元/次",
        None,  # the source ends after "元/次": no price is given
        (
            Service(
                "跨链数据对接服务",
                "定制跨链消息通道、跨链智能合约，根据实际业务链采用账本数据访问或合约消息推送"
                "方式，实现同构或异构区块链之间数据可信交互。",
            ),
        ),
    ),
)
PACKAGES_BY_CODE: Final = {p.code: p for p in PACKAGES}


def get_package(code: str) -> Package:
    """The package ``code``; InvalidInputError listing the codes of 附件4-1."""
    package = PACKAGES_BY_CODE.get(code.strip())
    if package is None:
        raise InvalidInputError(
            f"packages: {code!r} is not a package of 附件4-1; use one of "
            f"{', '.join(PACKAGES_BY_CODE)}",
            field="packages",
        )
    return package
