"""Cell-value parsers: examples from real returns, and properties over arbitrary input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pdreport.intake.clean import (
    clean_text,
    normalise_name,
    parse_choice,
    parse_date,
    parse_number,
    parse_yes_no,
)
from pdreport.template.workbook import DATE_MAX, DATE_MIN

CELL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.dates(), st.datetimes(), st.times(), st.timedeltas(),
)  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "value", "noted"),
    [
        (12.5, 12.5, False), (0, 0.0, False), ("12.5", 12.5, True), ("１２，３４５", 12345.0, True),
        ("12,345.6", 12345.6, True), (" 5.3% ", 5.3, True), ("5.3％", 5.3, True), ("-0.8", -0.8, True),
        ("−0.8", -0.8, True), ("+3", 3.0, True), (".5", 0.5, True),
    ],
)  # fmt: skip
def test_numbers(raw, value, noted):
    p = parse_number(raw)
    assert p.value == value and not p.error and bool(p.note) == noted


@pytest.mark.parametrize("raw", ["约12", "12万", "12,34", "1.2.3", "一百", True, dt.date(2024, 1, 1),
                                 float("nan"), float("inf"), "1e400"])  # fmt: skip
def test_not_numbers(raw):
    p = parse_number(raw)
    assert p.value is None and p.error


@pytest.mark.parametrize(("raw", "error", "hint"), [
    # a number typed into a cell formatted as a date or time: the number it stores, counted in days
    # as Excel and LibreOffice count them from 1 March 1900 (before it they differ by a day)
    (dt.datetime(1900, 3, 1), "单元格设成了日期或时间格式，显示为 1900/3/1", "如本意是数字 61："),
    (dt.datetime(1900, 3, 12, 12), "显示为 1900/3/12 12:00", "如本意是数字 72.5："),
    (dt.time(3, 7, 12), "显示为 3:07:12", "如本意是数字 0.13："),
    (dt.datetime(1905, 5, 5), "显示为 1905/5/5", "如本意是数字 1952："),
    (dt.datetime(1900, 1, 12), "显示为 1900/1/12", "请把该格的格式改为“常规”或“数值”后重新填写数字"),
    # a date typed where a number belongs: no number is suggested
    (dt.date(2024, 7, 1), "单元格中填的是日期（2024/7/1）", "此处只填数字"),
    (dt.datetime(2024, 7, 1, 9, 30), "单元格中填的是日期（2024/7/1 09:30）", "此处只填数字"),
])  # fmt: skip
def test_a_date_where_a_number_belongs_says_which_it_may_be(raw, error, hint):
    p = parse_number(raw)
    assert p.value is None and error in p.error and p.hint.startswith(hint)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_number(raw):
    assert parse_number(raw).empty


@pytest.mark.parametrize(
    ("raw", "date"),
    [
        ("2024/6/30", dt.date(2024, 6, 30)), ("2024年6月30日", dt.date(2024, 6, 30)),
        ("2024-06-30", dt.date(2024, 6, 30)), ("2024.6.30", dt.date(2024, 6, 30)),
        ("20240630", dt.date(2024, 6, 30)), (45473.0, dt.date(2024, 6, 30)),
        (dt.datetime(2024, 6, 30, 12), dt.date(2024, 6, 30)), ("２０２４年６月３０日", dt.date(2024, 6, 30)),
        # yyyymmdd typed as a number (the cell holds 20240710.0), far beyond any date serial
        (20240710.0, dt.date(2024, 7, 10)), (20240710, dt.date(2024, 7, 10)),
        # a time of day after the date is ignored
        ("2024-7-10 14:30", dt.date(2024, 7, 10)), ("2024/7/10 14:30:00", dt.date(2024, 7, 10)),
        ("2024年7月10日 14时", dt.date(2024, 7, 10)), ("2024年7月10日14时30分", dt.date(2024, 7, 10)),
        ("2024-07-10T14:30:00", dt.date(2024, 7, 10)), ("2024-07-10 00:00:00", dt.date(2024, 7, 10)),
        ("20240710 9:05", dt.date(2024, 7, 10)), ("2024/7/10 下午3点半", dt.date(2024, 7, 10)),
        ("2024-7-10 2:30 PM", dt.date(2024, 7, 10)), ("２０２４－７－１０　１４：３０", dt.date(2024, 7, 10)),
        # what clerks write around a date: 号 for 日, the weekday, a part of the day, a full stop
        ("2024年10月8号", dt.date(2024, 10, 8)), ("2024年10月8日上午", dt.date(2024, 10, 8)),
        ("2024/10/8 星期二", dt.date(2024, 10, 8)), ("2024年10月8号（周二）", dt.date(2024, 10, 8)),
        ("2024-10-08。", dt.date(2024, 10, 8)), ("2024年10月8号下午3点", dt.date(2024, 10, 8)),
        # the weekday between the date and the time
        ("2024-10-08 周二 14:30", dt.date(2024, 10, 8)), ("2024年10月8日（星期二）上午9点", dt.date(2024, 10, 8)),
        ("2024/10/8(周二)14:30", dt.date(2024, 10, 8)), ("2024-10-08 下午2点（周二）", dt.date(2024, 10, 8)),
        ("2024-10-08 14:30 周二", dt.date(2024, 10, 8)), ("2024 10 08", dt.date(2024, 10, 8)),
        ("2024 年 10 月 8 日", dt.date(2024, 10, 8)),
    ],
)  # fmt: skip
def test_dates(raw, date):
    p = parse_date(raw)
    assert p.value == date and not p.error


@pytest.mark.parametrize("raw", [
    "2024/2/30", "六月底", "30/6/2024", -5, 1e12, True, float("nan"), "#VALUE!",
    20240230, 12345678, 20240710.5, 19991231, "19991231", 21000101,  # eight digits: a real date 2000–2099 only
    "2024-7-10 25:00", "2024-7-10 14:75", "2024-7-10 第二季度", "2024-7-10 14", "2024年7月1014时",
    "2024年10号", "2024年10月星期二", "星期二", "上午",
    # a digit after the day, with or without a weekday between: no day 19, 18 or 15
    "2024-7-1 9", "2024-7-1 周一 9", "2024.7.1（周一）8", "2024/7/1 星期一 5", "2024070 周一 1", "2024周二2024",
])  # fmt: skip
def test_bad_dates(raw):
    p = parse_date(raw, "2024-06-30")
    assert p.value is None and p.error
    assert p.hint == "请按 2024-06-30 的格式填写日期"


def test_every_kind_of_bad_date_gives_the_format_example():
    """Not a date, a date that does not exist, a number that is neither a serial nor yyyymmdd, a
    tick box: the same advice, with the period's own example."""
    for raw, error in [("六月底", "日期无法识别：填的是“六月底”"), ("2024/2/30", "日期“2024/2/30”不存在"),
                       (20240230.0, "日期“20240230”不存在"), (1e12, "日期无法识别"), (True, "日期无法识别")]:  # fmt: skip
        p = parse_date(raw, "2024-12-31")
        assert (p.error, p.hint) == (error, "请按 2024-12-31 的格式填写日期"), raw


def test_choices_and_yes_no():
    assert parse_choice(" 推进中 ", ("未启动", "推进中")).value == "推进中"
    assert parse_choice("进行中", ("未启动", "推进中")).error
    assert parse_yes_no("是").value is True and parse_yes_no("否").value is False
    assert parse_yes_no("√").value is True and parse_yes_no("√").note
    assert parse_yes_no("也许").error


def test_clean_text_removes_illegal_and_caps():
    c = clean_text("进展\x01良好\x1f\ud800，\t好\n", 100)
    assert c.text == "进展良好，\t好" and c.removed == 3
    long = clean_text("字" * 40000, 2000)
    assert len(long.text) == 2000 and long.truncated
    assert clean_text(12.0, 10).text == "12"
    assert clean_text("=cmd|' /C calc'!A0", 100).text.startswith("=")  # kept as text; writers never eval


def test_names_normalise_full_width():
    assert normalise_name("区府办(机管局) ") == normalise_name("区府办（机管局）")


def test_names_and_choices_ignore_what_shows_nothing():
    """A zero-width space, a BOM or a bidirectional mark pasted in with "推进中" shows nothing:
    the choice is 推进中, and a label or a name compares as it reads."""
    from pdreport.intake.clean import parse_choice

    for typed in ("推进中\u200b", "\ufeff推进中", "推进\u200d中\u202e", "推进中\u00ad"):
        assert parse_choice(typed, ("推进中", "已完成")).value == "推进中", repr(typed)
    assert normalise_name("区建交委\u2060") == normalise_name("区建交委")
    assert "填的是“1”" in parse_choice(1.0, ("推进中",)).error  # (a whole number as it shows, not "1.0")


@given(CELL_VALUES)
def test_parsers_never_raise(value):
    for parse in (parse_number, parse_date, parse_yes_no):
        p = parse(value)
        assert (p.value is None) or not p.error
    parse_choice(value, ("是", "否"))
    c = clean_text(value, 50)
    assert len(c.text) <= 50
    c.text.encode("utf-8")  # no lone surrogates left


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_number_text_round_trip(x):
    assert parse_number(repr(x)).value == pytest.approx(x)
    assert parse_number(x).value == x


# -- properties: never raise, and what people type reads back as what they meant -------------

ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# any text, with the characters that break writers well represented: controls, lone surrogates,
# U+FFFE/U+FFFF, full-width forms, ideographic space
ANY_TEXT = st.text(alphabet=st.one_of(
    st.characters(),
    st.characters(min_codepoint=0, max_codepoint=0x1F),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
    st.sampled_from("\ufffe\uffff\u3000\u00a0\uff10\uff05\uff0c\r\n\t"),
))  # fmt: skip
FULL_WIDTH = str.maketrans("0123456789.,-+%", "０１２３４５６７８９．，－＋％")
FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
CHOICES = st.lists(st.text(min_size=1, max_size=5), max_size=5).map(tuple)


@given(st.one_of(CELL_VALUES, ANY_TEXT), CHOICES)
def test_no_parser_raises_for_any_cell_value(value, choices):
    for p in (parse_number(value), parse_date(value), parse_yes_no(value), parse_choice(value, choices)):
        assert not (p.value is not None and p.error)
        assert isinstance(p.error, str) and isinstance(p.note, str)
    assert isinstance(normalise_name(value), str)
    assert isinstance(clean_text(value, 10).text, str)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_is_a_number_or_a_reason(x):
    p = parse_number(x)
    if x != x or x in (float("inf"), float("-inf")):
        assert p.value is None and p.error
    else:
        assert p.value == x and not p.error
    parse_date(x)  # NaN/inf are not dates either; no exception
    assert clean_text(x, 100).text


@given(FINITE)
def test_thousands_separators_read_back(x):
    text = f"{x:,.2f}"
    assert parse_number(text).value == pytest.approx(round(x, 2), abs=1e-9)
    assert parse_number(f"{int(x):,}").value == int(x)


@given(FINITE)
def test_full_width_digits_read_back(x):
    for text in (f"{x:.4f}", f"{x:,.2f}", f"{int(x)}"):
        wide = text.translate(FULL_WIDTH)
        assert wide != text or not any(ch.isdigit() for ch in text)
        assert parse_number(wide).value == pytest.approx(parse_number(text).value, abs=1e-9)
        assert parse_number(wide).value == pytest.approx(float(text.replace(",", "")), abs=1e-9)


@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False), st.sampled_from(["%", "％", " %"]))
def test_trailing_percent_reads_the_number_with_a_note(x, sign):
    p = parse_number(f"{x}{sign}")
    assert p.value == pytest.approx(x) and not p.error
    assert "百分号" in p.note


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)))
def test_dates_read_back_in_every_written_form(d):
    forms = [d, dt.datetime.combine(d, dt.time(13, 5)), d.isoformat(), f"{d.year}/{d.month}/{d.day}",
             f"{d.year}年{d.month}月{d.day}日", f"{d.year}.{d.month:02d}.{d.day:02d}",
             float((d - dt.date(1899, 12, 30)).days)]  # fmt: skip
    for form in forms:
        if isinstance(form, str) and d.year < 1000:
            continue
        assert parse_date(form).value == d, form
    assert parse_date(d.isoformat().translate(FULL_WIDTH)).value == d


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_eight_digits_are_a_date_only_in_the_templates_range(d):
    """20240710, as text or as the number a cell holds: a date from DATE_MIN to DATE_MAX, else an
    error (never a serial: the largest serial, 9999-12-31, has seven digits)."""
    digits = d.strftime("%Y%m%d")
    for form in (digits, int(digits), float(digits), f" {digits} ", digits.translate(FULL_WIDTH)):
        p = parse_date(form)
        if DATE_MIN <= d <= DATE_MAX:
            assert p.value == d and not p.error, form
        else:
            assert p.value is None and p.error and p.hint, form


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
       st.times(), st.sampled_from(["{:%H:%M}", "{:%H:%M:%S}", "{:%H时}", "{:%H时%M分}", "{:%H点%M分%S秒}"]),
       st.sampled_from(["{d.year}-{d.month}-{d.day} ", "{d.year}/{d.month:02d}/{d.day:02d}  ",
                        "{d.year}年{d.month}月{d.day}日", "{d.year}年{d.month}月{d.day}日 ", "{d:%Y-%m-%d}T"]))
def test_a_time_of_day_after_the_date_is_ignored(d, t, time_form, date_form):
    text = date_form.format(d=d) + time_form.format(t)
    assert parse_date(text).value == d, text
    assert parse_date(text.translate(FULL_WIDTH)).value == d, text


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
       st.sampled_from(["{d.year}-{d.month}-{d.day}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日",
                        "{d.year}年{d.month}月{d.day}号", "{d:%Y%m%d}"]),
       st.lists(st.sampled_from([" 星期二", "（周三）", "(礼拜天)", "上午", " 晚上", "。", ".", "；"]), max_size=3))
def test_words_around_a_date_say_nothing_more_of_it(d, date_form, tail):
    text = date_form.format(d=d) + "".join(tail)
    if date_form.startswith("{d:") and not DATE_MIN <= d <= DATE_MAX:
        return  # (eight digits run together: a date only in the templates' range)
    assert parse_date(text).value == d, text
    assert parse_date(text.translate(FULL_WIDTH)).value == d, text


@given(st.integers(min_value=1, max_value=2958465))
def test_serials_keep_meaning_serials(n):
    assert parse_date(n).value == dt.date(1899, 12, 30) + dt.timedelta(days=n)


@given(st.one_of(CELL_VALUES, ANY_TEXT, st.integers(min_value=-(10**400), max_value=10**400)),
       st.sampled_from(["2024-06-30", "2024-12-31"]))
def test_every_date_error_gives_the_format_example(value, example):
    p = parse_date(value, example)
    if p.error:
        assert p.value is None and p.hint == f"请按 {example} 的格式填写日期"
    else:
        assert not p.hint and (p.value is None or isinstance(p.value, dt.date))


@given(ANY_TEXT, st.integers(min_value=0, max_value=300))
def test_clean_text_is_always_safe_and_bounded(text, limit):
    c = clean_text(text, limit)
    assert len(c.text) <= limit
    assert not ILLEGAL_XML.search(c.text)
    c.text.encode("utf-8")
    assert c.truncated == (len(c.text) == limit and c.text != clean_text(text, 10**6).text)
    if text.strip():  # a cell of only spaces/control characters is blank: nothing to remove
        assert c.removed == len(ILLEGAL_XML.findall(text))


@given(ANY_TEXT)
@example("K \u0327")  # a space between a letter and a combining mark: NFKC composes once it goes
def test_normalise_name_is_idempotent_and_ignores_spacing_and_width(text):
    n = normalise_name(text)
    assert normalise_name(n) == n
    assert not re.search(r"\s", n)
    assert normalise_name(" " + text + "\u3000") == n


@given(st.sampled_from(["是", "否", " 是 ", "√", "×", "Yes", "NO", "已完成"]), st.booleans())
def test_yes_no(text, b):
    p = parse_yes_no(text)
    assert p.value in (True, False) and not p.error
    assert parse_yes_no(b).value is b


WEEKDAYS = "一二三四五六日"


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)), st.integers(0, 6),
       st.sampled_from(["{d.year}-{d.month}-{d.day}", "{d.year}/{d.month:02d}/{d.day:02d}", "{d.year}年{d.month}月{d.day}日",
                        "{d.year}年{d.month}月{d.day}号", "{d:%Y%m%d}"]),
       st.sampled_from([" 星期{w}", "（周{w}）", "(礼拜{w})", "周{w}", " 周{w} "]),
       st.sampled_from(["", " 14:30", "上午9点", " 下午3点半", "。"]), st.sampled_from("日天"))  # fmt: skip
def test_a_weekday_after_the_date_is_checked_against_it(d, weekday, date_form, weekday_form, after, sunday):
    """Wherever the weekday stands after the date (before a time of day too), the date is read; a
    weekday that is not the date's is said, with the day the date really is (周日 and 周天 alike)."""
    named = WEEKDAYS[weekday] if weekday < 6 else sunday
    text = date_form.format(d=d) + weekday_form.format(w=named) + after
    p = parse_date(text)
    assert p.value == d and not p.error, text
    if weekday == d.weekday():
        assert p.doubt == "", text
    else:
        assert f"{d.isoformat()} 是星期{WEEKDAYS[d.weekday()]}，不是星期{WEEKDAYS[weekday]}" in p.doubt, text
        assert f"填的是“{text.strip()}”" in p.doubt


@pytest.mark.parametrize("raw, named", [
    ("2024-07-01（周一）周二", "二"), ("2024-07-01 14点 周二", "二"), ("2024-07-01 下午2点（周二）", "二"),
    ("2024-07-01 上午 周日", "日"), ("2024-07-01（周二）周一", "二"), ("2024-07-01。星期二", "二"),
    ("2024年7月1日，周三", "三"), ("2024年7月1日！周二", "二"),
])  # fmt: skip
def test_every_weekday_after_the_date_is_compared(raw, named):
    """After the time too, and each of two: one that is not the date's day is said."""
    p = parse_date(raw)
    assert p.value == dt.date(2024, 7, 1) and not p.error
    assert p.doubt == f"填的是“{raw}”，但 2024-07-01 是星期一，不是星期{named}"
