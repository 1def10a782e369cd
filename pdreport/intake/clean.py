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

from ..findings import BIDI_CONTROLS, UNSAFE_TEXT
from ..template.workbook import DATE_MAX, DATE_MIN

# (what XML 1.0 does not allow, and the bidirectional controls: findings.UNSAFE_TEXT)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# a date followed by a time of day, typed as text: "2024-7-10 14:30", "2024/7/10 14:30:00",
# "2024年7月10日 14时", "2024-07-10T14:30"; the time is read only to be ignored
_DATE_AND_TIME = re.compile(
    r"(?:(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})\s*(\d{2})\s*(\d{2}))"
    r"(?:\s*T\s*|\s+|(?<=日))"
    r"(?:上午|下午|中午|晚上|凌晨|早上)?\s*([01]?\d|2[0-3])\s*"
    r"(?:(?::\s*[0-5]\d\s*){1,2}(?:\.\d{1,6})?(?:\s*(?:am|pm))?"
    r"|[时点](?:\s*[0-5]?\d\s*分?(?:\s*[0-5]?\d\s*秒)?|半)?)",
    re.IGNORECASE,
)
_DATE_AND_TIME_MAX_LEN = 60  # longer text is no date someone typed; never scanned
# words a clerk writes around a date that say nothing more of it: a full stop, the weekday
# ("2024/10/8 星期二", "（周二）"), a part of the day with no hour ("2024年10月8日上午"); and 号 for 日
_DATE_TAIL = re.compile(r"(?:\s*[(（]?\s*(?:星期|礼拜|周)[一二三四五六日天]\s*[)）]?"
                        r"|\s*(?:上午|下午|中午|晚上|凌晨|早上)|\s*[。.,，;；!！])+$")  # fmt: skip
_DAY_HAO = re.compile(r"(?<=月)(\s*\d{1,2}\s*)号")
# the weekday written after the date ("2024-07-01 周一 14:30", "2024年7月1日（星期一）上午", after the
# time too: "2024-07-01 下午2点（周一）"): taken out wherever it stands, so that a time after it is
# read too. Every weekday a date cell names (_WEEKDAY, group 1) is compared with the date, wherever
# it stands and whichever regex takes it out (_DATE_TAIL takes the last ones)
_WEEKDAY_AFTER_DATE = re.compile(r"(?<=[\d日号点时分秒午。.,;])\s*[(（]?\s*(?:星期|礼拜|周)[一二三四五六日天]\s*[)）]?")
_WEEKDAY = re.compile(r"(?:星期|礼拜|周)([一二三四五六日天])")
_WEEKDAY_NAMES = "一二三四五六日"
# the spaces a date written with separators may hold ("2024 年 7 月 1 日"): all but those between two
# digits, which would join a day to what follows it ("2024-7-1 9" is no 2024-07-19)
_LOOSE_SPACE = re.compile(r"(?<!\d) +| +(?!\d)")
EXCEL_EPOCH = dt.date(1899, 12, 30)
# Excel serials the parser takes: 1 (1900-01-01 in Excel's reckoning) up to 9999-12-31
_SERIAL_MAX = 2958466


@dataclass(frozen=True)
class Parsed:
    value: Any = None  # None: empty (or unusable, see error)
    error: str = ""  # Chinese reason when the input could not be used
    note: str = ""  # Chinese note when the input was read with an adjustment
    hint: str = ""  # Chinese advice on how to write it, with an error
    doubt: str = ""  # Chinese note when the input was read but contradicts itself (a wrong weekday)

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
    text, removed = UNSAFE_TEXT.subn("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    truncated = len(text) > limit
    if truncated:
        text = text[:limit]
    return CleanText(text, removed, truncated)


def normalise_name(text: Any) -> str:
    """Names compare after NFKC (full-width brackets, digits), without spaces and without the
    characters that show nothing (zero-width spaces, bidirectional marks).

    Any cell value is accepted (a number or date where a name was expected compares as its text).
    """
    if type(text) is str:
        return _normalise_str(text)
    return _normalise_name(text)


@functools.lru_cache(maxsize=16384)
def _normalise_str(text: str) -> str:
    return _normalise_name(text)


# characters that show nothing: a soft hyphen, zero-width spaces and joiners, a BOM, bidirectional
# marks (copied in from a web page or a chat with the text): "推进中" + U+200B is 推进中
_INVISIBLE = re.compile(f"[\u00ad\u200b-\u200d\u2060-\u2065\ufeff{BIDI_CONTROLS}]")


def _normalise_name(text: Any) -> str:
    if is_blank(text):
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    name = _INVISIBLE.sub("", str(text))
    # removing a space can bring a combining mark next to a letter that NFKC then composes
    # (K + U+0327 → Ķ), so repeat until nothing changes: equal names must compare equal
    for _ in range(4):
        again = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
        if again == name:
            break
        name = again
    return name


def _date_for_a_number(value: dt.date | dt.time) -> Parsed:
    """A date or time where a number belongs: a date typed there, or a number typed into a cell
    formatted as a date or time (12 shows as 1900/1/12, 12.5 as 1900/1/12 12:00, 0.13 as 3:07:12).
    Then the number it stores is said, as Excel and LibreOffice count days: only from 1 March 1900,
    where the two agree (Excel counts a 29 February 1900, LibreOffice does not)."""
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        serial: float | None = seconds / 86400
        shown = f"{value.hour}:{value.minute:02d}:{value.second:02d}"
    else:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        shown = f"{moment.year}/{moment.month}/{moment.day}" + (f" {moment:%H:%M}" if moment.time() != dt.time() else "")
        serial = (moment - dt.datetime(1899, 12, 30)).total_seconds() / 86400
        if moment.year >= 1910:  # (no number anyone reports is shown so: a date typed there)
            return Parsed(error=f"应填写数字，单元格中填的是日期（{shown}）",
                          hint="此处只填数字（以本格的计量单位计），日期等说明写在“情况说明”中")  # fmt: skip
        if moment < dt.datetime(1900, 3, 1):
            serial = None
    if serial is None or serial <= 0:
        return Parsed(error=f"应填写数字，单元格设成了日期或时间格式，显示为 {shown}",
                      hint="请把该格的格式改为“常规”或“数值”后重新填写数字")  # fmt: skip
    number = format_plain(round(serial, 6))
    return Parsed(error=f"应填写数字，单元格设成了日期或时间格式，显示为 {shown}",
                  hint=f"如本意是数字 {number}：请把该格的格式改为“常规”或“数值”后重新填写 {number}")  # fmt: skip


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
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return _date_for_a_number(value)
    if isinstance(value, dt.timedelta):
        return Parsed(error="应填写数字，单元格中是时长", hint="请把该格的格式改为“常规”或“数值”后重新填写数字")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace("\u2212", "-").replace(" ", "")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        return Parsed(error="无法读成数字")  # (what to type instead: validate.number_hint)
    number = float(text)
    if math.isinf(number):
        return Parsed(error="数字无效")
    note = "单元格中是文字格式的数字，已按数字读取"
    if percent:
        note = f"填写了百分号，已按 {format_plain(number)} 读取"
    return Parsed(number, note=note)


def parse_date(value: Any, example: str = "2024-06-30") -> Parsed:
    """A cell value → date. Accepts real dates, Excel serials, 2024/6/30, 2024年6月30日, 20240630
    (as text or as a number), and a date followed by a time of day (the time is ignored).

    Every error says the same thing, whatever went wrong: write the date like ``example``.
    """
    hint = f"请按 {example} 的格式填写日期"
    unreadable = Parsed(error="日期无法识别", hint=hint)
    if is_blank(value):
        return Parsed()
    if isinstance(value, dt.datetime):
        return Parsed(value.date())
    if isinstance(value, dt.date):
        return Parsed(value)
    if isinstance(value, bool):
        return unreadable
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return unreadable
        if 1 <= value < _SERIAL_MAX:
            return Parsed(EXCEL_EPOCH + dt.timedelta(days=int(value)), note="日期以数字形式填写，已换算")
        # 20240710: yyyymmdd typed as a number. Far beyond any serial (the largest, 9999-12-31,
        # is 2958465), so never mistaken for one; a whole number of eight digits only.
        if 10_000_000 <= value <= 99_999_999 and value == int(value):
            digits = str(int(value))
            return _calendar_date(digits[:4], digits[4:6], digits[6:], digits, hint, compact=True)
        return unreadable
    typed = unicodedata.normalize("NFKC", str(value)).strip()
    weekdays: list[int] = []
    timed = False  # a weekday was taken out with more than tail words after it: only a time may follow
    if len(typed) <= _DATE_AND_TIME_MAX_LEN:
        weekdays = [_WEEKDAY_NAMES.index(w.replace("天", "日")) for w in _WEEKDAY.findall(typed)]
        named = _WEEKDAY_AFTER_DATE.search(typed)
        if named is not None:
            typed = f"{typed[:named.start()]} {typed[named.end():]}".strip()
        text = _DAY_HAO.sub(r"\1日", _DATE_TAIL.sub("", typed))  # (号 → 日: the length is kept)
        timed = named is not None and len(text) > named.start()
    else:
        text = typed
    # what was typed, said back as typed (the message is read alone)
    shown = str(value).strip()
    shown = shown if len(shown) <= 30 else shown[:30] + "…"
    if isinstance(value, str) and text:
        unreadable = Parsed(error=f"日期无法识别：填的是“{shown}”", hint=hint)
    # a date alone: with separators (spaces dropped, but not between digits), or eight digits
    # (2024 07 01 too); never where a weekday taken out had more after it than tail words
    forms = () if timed else ((_DATE_PATTERNS[0], _LOOSE_SPACE.sub("", text)), (_DATE_PATTERNS[1], text.replace(" ", "")))
    for pattern, squeezed in forms:
        m = pattern.match(squeezed)
        if m:
            parsed = _calendar_date(m[1], m[2], m[3], shown, hint, compact=pattern is _DATE_PATTERNS[1])
            return _check_weekday(parsed, weekdays, shown)
    m = _DATE_AND_TIME.fullmatch(text) if len(text) <= _DATE_AND_TIME_MAX_LEN else None
    if m is None:
        return unreadable
    if m[1] is not None:
        return _check_weekday(_calendar_date(m[1], m[2], m[3], shown, hint, compact=False), weekdays, shown)
    return _check_weekday(_calendar_date(m[4], m[5], m[6], shown, hint, compact=True), weekdays, shown)


def _check_weekday(parsed: Parsed, weekdays: list[int], shown: str) -> Parsed:
    """A date read with weekdays written after it: when one disagrees, the date or the weekday is
    mistyped and nothing tells which; the date is kept as written, and the doubt said."""
    if parsed.value is None:
        return parsed
    actual = parsed.value.weekday()
    wrong = next((w for w in weekdays if w != actual), None)
    if wrong is None:
        return parsed
    return Parsed(parsed.value, doubt=f"填的是“{shown}”，但 {parsed.value.isoformat()} 是星期{_WEEKDAY_NAMES[actual]}，"
                                      f"不是星期{_WEEKDAY_NAMES[wrong]}")  # fmt: skip


def _calendar_date(year: str, month: str, day: str, text: str, hint: str, *, compact: bool) -> Parsed:
    """The date of these digits, or why not. Eight digits run together (20240630) could be any
    number, so they count as a date only within the range the template allows."""
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        if compact and not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
            return Parsed(error="日期无法识别", hint=hint)  # 12345678: digits, not a date
        return Parsed(error=f"日期“{text}”不存在", hint=hint)
    if compact and not DATE_MIN <= date <= DATE_MAX:
        return Parsed(error="日期无法识别", hint=hint)
    return Parsed(date)


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
    return Parsed(error=f"填的是“{_shown(text)}”，只能选择“是”或“否”")


def parse_choice(value: Any, choices: tuple[str, ...]) -> Parsed:
    if is_blank(value):
        return Parsed()
    text = normalise_name(value)  # (1.0 from a cell reads "1", as it shows)
    if text in choices:
        return Parsed(text)
    return Parsed(error=f"填的是“{_shown(text)}”，只能从下拉列表中选择：{'、'.join(choices)}")


def _shown(text: str, limit: int = 20) -> str:
    """What was typed, quoted in a message (cut short)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_plain(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".") if number != int(number) else str(int(number))
