"""Cell-value parsers: examples from real returns, and properties over arbitrary input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdreport.intake.clean import (
    clean_text,
    normalise_name,
    parse_choice,
    parse_date,
    parse_number,
    parse_yes_no,
)

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
    ],
)  # fmt: skip
def test_dates(raw, date):
    assert parse_date(raw).value == date


@pytest.mark.parametrize("raw", ["2024/2/30", "六月底", "30/6/2024", -5, 1e12])
def test_bad_dates(raw):
    assert parse_date(raw).error


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
