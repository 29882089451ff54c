"""The case file's documents: the 人民调解协议书 (its statuses, the follow-up of its 履行, the 司法确认 check) and
the two PDFs the window prints — the agreement in the national format (人民调解协议书: the parties with their ID
numbers, the facts, the terms, the 履行 way and deadline, the mediators, the committee, the date, the sign lines)
and the 受理登记表 the applicant signs.

Pure code: the layout is drawn with fpdf2 in memory from a TrueType font file (a CJK one: Debian's
fonts-wqy-zenhei by default, ``INTAKE_PDF_FONT``); nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from shared.clock import SHANGHAI
from shared.events.records import ConfirmationStatus, PerformanceResult, PerformanceWay

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


class AgreementStatus(StrEnum):
    DRAFT = "draft"  # the mediator is still writing it (editable with If-Match)
    SIGNED = "signed"  # the signed scan is filed: it stands


class PerformanceStatus(StrEnum):
    PENDING = "pending"  # the deadline runs (notify reminds the unit before it)
    PERFORMED = "performed"  # 已履行
    NOT_PERFORMED = "not_performed"  # 未履行: the follow-up failed, the unit is told


PERFORMANCE_WAY_ZH = {PerformanceWay.IMMEDIATE: "即时履行", PerformanceWay.BY_DEADLINE: "限期履行",
                      PerformanceWay.INSTALMENTS: "分期履行"}
PERFORMANCE_ZH = {PerformanceStatus.PENDING: "待履行", PerformanceStatus.PERFORMED: "已履行",
                  PerformanceStatus.NOT_PERFORMED: "未履行"}
CONFIRMATION_ZH = {ConfirmationStatus.APPLIED: "已申请司法确认", ConfirmationStatus.ACCEPTED: "法院已受理",
                   ConfirmationStatus.CONFIRMED: "司法确认有效", ConfirmationStatus.REFUSED: "司法确认被驳回"}


def confirmation_status(accepted: bool | None, confirmed: bool | None) -> ConfirmationStatus:
    """Where a 司法确认 stands from what the court did so far: not accepted or a refusal end it."""
    if accepted is False or confirmed is False:
        return ConfirmationStatus.REFUSED
    if confirmed:
        return ConfirmationStatus.CONFIRMED
    return ConfirmationStatus.ACCEPTED if accepted else ConfirmationStatus.APPLIED


def performance_status(result: PerformanceResult) -> PerformanceStatus:
    return PerformanceStatus(result.value)


@dataclass(frozen=True)
class PartyLine:
    role: str  # 申请人 / 被申请人 / 其他当事人
    name: str
    id_number: str | None = None
    phone: str | None = None
    organization: bool = False


@dataclass(frozen=True)
class AgreementDoc:
    number: str
    committee: str
    parties: list[PartyLine]
    facts: str
    terms: str
    way: PerformanceWay
    due: date
    mediators: list[str]
    on: date


@dataclass(frozen=True)
class RegistrationDoc:
    code: str
    received_at: datetime
    channel: str
    request_type: str
    category: str
    title: str
    description: str
    address: str | None
    parties: list[PartyLine] = field(default_factory=list)


def _chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _Sheet:
    """An A4 page set in the CJK font: a title, labelled paragraphs, sign lines."""

    def __init__(self, font: Path, title: str) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_title(title)
        self.pdf.set_creator("Fengqiao")
        self.pdf.set_auto_page_break(auto=True, margin=20)
        self.pdf.set_margins(22, 20, 22)
        self.pdf.add_font("cjk", fname=str(font))
        self.pdf.add_page()
        self.pdf.set_font("cjk", size=20)
        self.pdf.cell(0, 14, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_font("cjk", size=11)

    def line(self, text: str, *, size: float = 11, align: str = "L", height: float = 7) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.multi_cell(0, height, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)

    def section(self, label: str, text: str) -> None:
        self.pdf.ln(2)
        self.line(label, size=12)
        self.line(text or "（无）")

    def gap(self, h: float = 4) -> None:
        self.pdf.ln(h)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _party_text(p: PartyLine) -> str:
    if p.organization:
        parts = [f"{p.role}：{p.name}（单位）"]
        if p.id_number:
            parts.append(f"统一社会信用代码：{p.id_number}")
    else:
        parts = [f"{p.role}：{p.name}"]
        if p.id_number:
            parts.append(f"公民身份号码：{p.id_number}")
    if p.phone:
        parts.append(f"联系方式：{p.phone}")
    return "　".join(parts)


def render_agreement(doc: AgreementDoc, font: Path = DEFAULT_FONT) -> bytes:
    """The 人民调解协议书 as the national format lays it out (司法部人民调解文书格式)."""
    s = _Sheet(font, "人民调解协议书")
    s.line(f"编号：{doc.number}", align="R")
    s.gap(2)
    for p in doc.parties:
        s.line(_party_text(p))
    s.section("纠纷主要事实、争议事项：", doc.facts)
    s.section("经调解，自愿达成如下协议：", doc.terms)
    s.section("履行方式、时限：", f"{PERFORMANCE_WAY_ZH[doc.way]}，于{_chinese_date(doc.due)}前履行完毕。")
    s.gap(2)
    s.line(f"本协议一式{len(doc.parties) + 1}份，当事人、人民调解委员会各持一份。"
           "当事人认为有必要的，可自本协议生效之日起三十日内共同向人民法院申请司法确认。")
    s.gap(8)
    for p in doc.parties:
        s.line(f"{p.role}（签名盖章或按指印）：______________________")
        s.gap(2)
    for m in doc.mediators:
        s.line(f"人民调解员（签名）：______________________（{m}）")
        s.gap(2)
    s.gap(6)
    s.line(f"{doc.committee}（盖章）", align="R")
    s.line(_chinese_date(doc.on), align="R")
    return s.output()


def render_registration(doc: RegistrationDoc, font: Path = DEFAULT_FONT) -> bytes:
    """The 受理登记表 of a case, for the applicant to check and sign at the window."""
    s = _Sheet(font, "矛盾纠纷受理登记表")
    s.line(f"登记编号：{doc.code}　受理时间：{doc.received_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}", align="R")
    s.gap(2)
    s.line(f"受理渠道：{doc.channel}　诉求类型：{doc.request_type}　矛盾类别：{doc.category or '待定'}")
    s.section("当事人：", "\n".join(_party_text(p) for p in doc.parties))
    if doc.address:
        s.section("纠纷发生地：", doc.address)
    s.section("事由：", doc.title)
    s.section("主要情况及诉求：", doc.description)
    s.gap(10)
    s.line("申请人确认以上登记内容属实。")
    s.gap(6)
    s.line("申请人（签名或按指印）：______________________　日期：____年__月__日")
    s.gap(4)
    s.line("受理人（签名）：______________________　日期：____年__月__日")
    return s.output()
