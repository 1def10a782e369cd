"""Findings: everything wrong with an input, as data (never an exception).

A ``Finding`` is a typed record — code, severity, where (file, sheet, cell, field),
what was seen, a plain-Chinese message and a hint of what to do. Codes are stable:
they are documented in docs/findings.md and users quote them on the phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import Enum

# Characters no XML writer accepts (XML 1.0: C0 controls except tab/newline/CR, surrogates,
# U+FFFE/U+FFFF). Text from returned workbooks is cleaned in intake; a finding cleans its own text
# once more, so that no writer (openpyxl, xlsxwriter, python-docx, a terminal) can fail on it.
# The bidirectional formatting characters (marks, embeddings, overrides, isolates) are taken out
# too: a U+202E quoted from a cell or a sheet name would show the rest of the sentence it is quoted
# in reversed, in the terminal, 问题清单, 汇总表 and the report alike. One definition for every
# writer (intake's cleaning, 汇总表's clip).
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"  # (a regex character class's inside)
UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff{BIDI_CONTROLS}]")
TEXT_CAP = 4000  # characters per text field of a finding (a cell holds 32,767)


def safe_text(text: str, cap: int = TEXT_CAP) -> str:
    """``text`` without characters illegal in XML or bidirectional controls (each shown as �), at
    most ``cap`` characters."""
    text = UNSAFE_TEXT.sub("\ufffd", text) if UNSAFE_TEXT.search(text) else text
    return text if len(text) <= cap else text[: cap - 1] + "…"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def label(self) -> str:
        return "错误" if self is Severity.ERROR else "提醒"


class Code(Enum):
    """(code, short Chinese title, default severity)."""

    # -- the file itself (guard) ------------------------------------------------
    NOT_A_WORKBOOK = ("E001", "不是表格文件", Severity.ERROR)
    FILE_TOO_LARGE = ("E002", "文件过大", Severity.ERROR)
    ZIP_UNSAFE = ("E003", "压缩结构异常", Severity.ERROR)
    ENCRYPTED = ("E004", "文件已加密", Severity.ERROR)
    CORRUPT = ("E005", "文件损坏", Severity.ERROR)
    UNREADABLE = ("E006", "文件无法打开", Severity.ERROR)
    XML_UNSAFE = ("E007", "文件内容结构异常", Severity.ERROR)
    NOT_A_FILE = ("E008", "不是普通文件", Severity.ERROR)
    # -- which template it is (identify) ---------------------------------------------
    NO_METADATA = ("E101", "不是本系统下发的填报表", Severity.ERROR)
    METADATA_ALTERED = ("E102", "填报表标识信息被改动", Severity.ERROR)
    PLAN_MISMATCH = ("E103", "计划不符", Severity.ERROR)
    PERIOD_MISMATCH = ("E104", "报送期不符", Severity.ERROR)
    UNKNOWN_RESPONDENT = ("E105", "填报单位不在计划中", Severity.ERROR)
    TEMPLATE_VERSION = ("W106", "模板版本不同", Severity.WARNING)
    DUPLICATE = ("W107", "重复报送（已采用较新的一份）", Severity.WARNING)
    MISSING_SUBMISSION = ("E108", "未报送", Severity.ERROR)
    SHEET_MISSING = ("E109", "工作表缺失", Severity.ERROR)
    SHEET_RENAMED = ("W110", "工作表被改名，内容已采用", Severity.WARNING)
    PLAN_REVISED = ("E111", "计划已修订，填报表与新版不符", Severity.ERROR)
    PLAN_VERSION = ("W112", "按计划旧版填报，内容与新版相同", Severity.WARNING)
    OTHER_OFFICE_NAMED = ("W113", "文件名是另一单位", Severity.WARNING)
    BLANK_RETURN = ("E114", "填报表未填写（空表）", Severity.ERROR)
    # -- the values ------------------------------------------------------------------
    REQUIRED_MISSING = ("E201", "缺少必填项", Severity.ERROR)
    WRONG_TYPE = ("E202", "格式不对", Severity.ERROR)
    OUT_OF_RANGE = ("E203", "超出合理范围", Severity.ERROR)
    PERCENT_NORMALISED = ("W204", "百分数写法已自动换算", Severity.WARNING)
    UNIT_MAGNITUDE = ("W205", "数量级可疑（单位可能填错）", Severity.WARNING)
    DONE_BELOW_TARGET = ("W206", "标为已完成但未达目标", Severity.WARNING)
    PROGRESS_NOT_STARTED = ("W207", "已有进展但标为未启动", Severity.WARNING)
    LABEL_CHANGED = ("E208", "表格标题或项目名称被改动", Severity.ERROR)
    INVALID_CHOICE = ("E209", "选项不在下拉列表中", Severity.ERROR)
    BAD_DATE = ("E210", "日期无法识别", Severity.ERROR)
    TEXT_CLEANED = ("W211", "文字中含非法字符，已清除", Severity.WARNING)
    TEXT_TRUNCATED = ("W212", "文字过长，已截断", Severity.WARNING)
    FILLED_ON_IMPLAUSIBLE = ("W213", "填报日期不合理", Severity.WARNING)
    ANNEX_ZERO_BASE = ("E214", "能耗或产值为 0，无法计算下降率", Severity.ERROR)
    MILESTONE_DATE_AFTER_PERIOD = ("W215", "完成日期晚于本期截止日", Severity.WARNING)
    MILESTONE_DATE_MISSING = ("W216", "已完成但未填完成日期", Severity.WARNING)
    MILESTONE_DATE_UNEXPECTED = ("W217", "未完成却填了完成日期", Severity.WARNING)
    OUTSIDE_TABLE = ("W218", "表格以外的内容未采用", Severity.WARNING)
    NOT_WHOLE = ("W219", "数量不是整数", Severity.WARNING)
    PERCENT_MAYBE_FRACTION = ("W220", "百分数可能填成了小数", Severity.WARNING)
    TEXT_AS_FORMULA = ("W221", "文字被当成了公式，已按文字采用", Severity.WARNING)
    ANNEX_ZERO_MERGED = ("W222", "合并计算单位的能耗或产值为 0", Severity.WARNING)
    ANNEX_UNIT_MIXED = ("E223", "能耗或产值与上年同期相差百倍以上（计量单位填错）", Severity.ERROR)
    ANNEX_CHANGE_DOUBTFUL = ("W224", "能耗或产值与上年同期相差五倍以上", Severity.WARNING)
    ANNEX_INTENSITY_LOW = ("W225", "万元产值能耗过低（计量单位可能填错）", Severity.WARNING)
    WEEKDAY_MISMATCH = ("W226", "日期与所填星期不符", Severity.WARNING)

    def __init__(self, code: str, title: str, severity: Severity):
        self.code = code
        self.title = title
        self.severity = severity


@dataclass(frozen=True)
class Finding:
    code: Code
    message: str  # plain Chinese: what is wrong, in the user's terms
    hint: str = ""  # plain Chinese: what to do about it
    file: str = ""  # as given on the command line / relative to the input folder
    sheet: str = ""
    cell: str = ""  # A1 reference
    respondent: str = ""  # respondent id, once known
    field: str = ""  # stable field key from the template map
    label: str = ""  # the field's Chinese label
    value: str = ""  # what was seen, as text (already sanitised)
    severity: Severity | None = None  # None: the code's default
    also: str = ""  # another cell of the same sheet the problem is about (marked in the 退回修改 copy too)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                clean = safe_text(value)
                if clean is not value:
                    object.__setattr__(self, f.name, clean)
            elif f.type == "str":
                object.__setattr__(self, f.name, "" if value is None else safe_text(str(value)))

    @property
    def level(self) -> Severity:
        return self.severity or self.code.severity

    @property
    def is_error(self) -> bool:
        return self.level is Severity.ERROR

    def located(self, **where: str) -> Finding:
        """The same finding with more of its location filled in."""
        return replace(self, **where)

    def where(self) -> str:
        parts = [p for p in (self.file, self.sheet, self.cell) if p]
        return " / ".join(parts)

    def render(self) -> str:
        """One line for a terminal: '[E201 缺少必填项] file / 指标 / F7：message（hint）'."""
        head = f"[{self.code.code} {self.code.title}]"
        where = self.where()
        text = f"{head} {where}：{self.message}" if where else f"{head} {self.message}"
        return f"{text}（{self.hint}）" if self.hint else text
