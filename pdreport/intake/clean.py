"""Parsers for what people type into cells: numbers, dates, choices and free text.

Pure functions, never raising for any input (property-tested). Text is cleaned here,
once, so that no writer downstream (openpyxl, xlsxwriter, python-docx, jinja2) can
fail on it: characters illegal in XML are removed and length is capped.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# XML 1.0 allows \t \n \r and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass(frozen=True)
class Parsed:
    value: Any = None  # None: empty (or unusable, see error)
    error: str = ""  # Chinese reason when the input could not be used
    note: str = ""  # Chinese note when the input was read with an adjustment

    @property
    def empty(self) -> bool:
        return self.value is None and not self.error


@dataclass(frozen=True)
class CleanText:
    text: str
    removed: int = 0  # illegal characters dropped
    truncated: bool = False


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Any, limit: int) -> CleanText:
    """Any cell value → text safe for every writer, at most ``limit`` characters."""
    if is_blank(value):
        return CleanText("")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (dt.datetime, dt.date)):
        text = value.isoformat()[:10]
    else:
        text = str(value)
    text, removed = _ILLEGAL_XML.subn("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    truncated = len(text) > limit
    if truncated:
        text = text[:limit]
    return CleanText(text, removed, truncated)


def normalise_name(text: Any) -> str:
    """Names compare after NFKC (full-width brackets, digits) and without spaces.

    Any cell value is accepted (a number or date where a name was expected compares as its text).
    """
    if type(text) is str:
        return _normalise_str(text)
    return _normalise_name(text)


@functools.lru_cache(maxsize=16384)
def _normalise_str(text: str) -> str:
    return _normalise_name(text)


def _normalise_name(text: Any) -> str:
    if is_blank(text):
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    name = str(text)
    # removing a space can bring a combining mark next to a letter that NFKC then composes
    # (K + U+0327 → Ķ), so repeat until nothing changes: equal names must compare equal
    for _ in range(4):
        again = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
        if again == name:
            break
        name = again
    return name


def parse_number(value: Any) -> Parsed:
    """A cell value → float. Accepts thousands separators, full-width digits and a % sign."""
    if is_blank(value):
        return Parsed()
    if isinstance(value, bool):
        return Parsed(error="应填写数字，不是勾选/逻辑值")
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return Parsed(error="数字无效")
        return Parsed(number)
    if isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return Parsed(error="应填写数字，单元格中是日期或时间")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace("\u2212", "-").replace(" ", "")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        return Parsed(error="应填写数字（说明文字请写在“情况说明”中）")
    number = float(text)
    if math.isinf(number):
        return Parsed(error="数字无效")
    note = "单元格中是文字格式的数字，已按数字读取"
    if percent:
        note = f"填写了百分号，已按 {format_plain(number)} 读取（本表百分数只填数字）"
    return Parsed(number, note=note)


def parse_date(value: Any, example: str = "2024-06-30") -> Parsed:
    """A cell value → date. Accepts real dates, Excel serials and 2024/6/30, 2024年6月30日 …"""
    if is_blank(value):
        return Parsed()
    if isinstance(value, dt.datetime):
        return Parsed(value.date())
    if isinstance(value, dt.date):
        return Parsed(value)
    if isinstance(value, bool):
        return Parsed(error="日期无法识别")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 1 <= value < 2958466:
            return Parsed(error="日期无法识别")
        return Parsed(EXCEL_EPOCH + dt.timedelta(days=int(value)), note="日期以数字形式填写，已换算")
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return Parsed(dt.date(int(m[1]), int(m[2]), int(m[3])))
            except ValueError:
                return Parsed(error=f"日期“{text[:20]}”不存在")
    return Parsed(error=f"日期无法识别，请按 {example} 的格式填写")


_YES = {"是", "已完成", "完成", "y", "yes", "√", "✓", "✔", "true"}
_NO = {"否", "未完成", "n", "no", "×", "✗", "false"}


def parse_yes_no(value: Any) -> Parsed:
    if is_blank(value):
        return Parsed()
    if isinstance(value, bool):
        return Parsed(value)
    text = normalise_name(str(value)).lower()
    if text in _YES:
        return Parsed(True, note="" if text == "是" else f"“{text}”按“是”读取")
    if text in _NO:
        return Parsed(False, note="" if text == "否" else f"“{text}”按“否”读取")
    return Parsed(error="只能选择“是”或“否”")


def parse_choice(value: Any, choices: tuple[str, ...]) -> Parsed:
    if is_blank(value):
        return Parsed()
    text = normalise_name(str(value))
    if text in choices:
        return Parsed(text)
    return Parsed(error=f"只能从下拉列表中选择：{'、'.join(choices)}")


def format_plain(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".") if number != int(number) else str(int(number))
