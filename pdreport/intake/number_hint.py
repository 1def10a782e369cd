"""What to type instead of a number written with words: the hint of a cell that could not be read
as a number ("15万平方米", "约20", "8MW" where 万千瓦 is asked, "上升3.2%" in a decline rate's cell).

A figure is suggested only when it is certain to be right: converting the units a clerk types
(kW/MW/GW, 千瓦/兆瓦/万千瓦, 千/万/亿 before the cell's unit) into the cell's own unit; otherwise the
hint says what to type without a figure. Kept apart from ``validate`` (which reports it, E202):
pure text in, text out.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from ..plan.model import POWER_IN_KW
from .clean import format_plain

# a number as typed among words: digits with any "," and "." between them (judged whole below)
_NUMBERS = re.compile(r"\.?[0-9](?:[0-9.,]*[0-9])?")
_WELL_FORMED = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_MULTIPLIERS = {"千": 1_000, "万": 10_000, "十万": 100_000, "百万": 1_000_000, "千万": 10_000_000,
                "亿": 100_000_000}  # fmt: skip
_ROUGHLY = re.compile("左右|上下|以上|以内|多|余|约|近")  # "1300多个", "20左右": the number stands
_ASIDE = tuple("（(，,；;。、：:")  # what may follow the number and its unit: a remark (not ".": kW.h)
_RISE, _FALL = ("上升", "增长", "增加", "提高"), ("下降", "减少", "降低")
ONE_NUMBER = "只填一个数字（以本格的计量单位计）；文字说明写在“情况说明”中"
# square metres as typed: ㎡ and m² (both "m2" once normalised), m2, 平米 — the "2" is no number
_SQUARE_METRES = re.compile(r"(?<=[0-9万千])(?:m2|平米)(?![0-9])", re.IGNORECASE)
_FULL_STOP_POINT = re.compile(r"(?<=[0-9])。(?=[0-9])")  # "12。5": a decimal point typed with a 句号


def number_hint(value: Any, unit: str, decline: bool = False) -> str:
    """What to type instead of a number written with words ("15万平方米", "约20", "12万", "8MW" or
    "3000千瓦" where 万千瓦 is asked, "1.3千" where 个 is). Only a number certain to be right is
    suggested: with two numbers in the text ("2024年建成1300个"), a comma that is no thousands
    separator ("56,5"), a unit or word after the number it cannot convert ("8000kWh", "1300辆" where
    个 is asked), or a rise or fall it cannot sign, it says what to type without a figure.
    ``decline``: the cell holds a decline rate (下降 typed positive, 上升 negative)."""
    typed_text = str(value).strip()[:12]  # quoted as typed, not as normalised below
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "").replace("\u2212", "-")
    text = _SQUARE_METRES.sub("平方米", text)
    point = _FULL_STOP_POINT.search(text) is not None
    text = _FULL_STOP_POINT.sub(".", text)
    numbers = _NUMBERS.findall(text)
    if len(numbers) != 1:
        return ONE_NUMBER
    run = numbers[0]
    at = text.index(run)
    cell = f"以本格的计量单位“{unit}”计" if unit else "以本格的计量单位计"
    if not _WELL_FORMED.fullmatch(run):
        return f"只填数字，{cell}；“{run}”看不出是多少（逗号只用作千位分隔，小数点用“.”），请核实后填写"
    number = float(run.replace(",", ""))
    if text[at - 1:at] == "-":
        number = -number
    rise, fall = any(w in text for w in _RISE), any(w in text for w in _FALL)
    signed = unit == "%" and (rise or fall)  # (上升 3.2% is -3.2 in a decline rate's cell)
    if signed and (not decline or (rise and fall) or number < 0):
        return f"只填数字，{cell}；“{typed_text}”中的升降请按本格要求用正负数表示，文字说明写在“情况说明”中"
    rest = _ROUGHLY.sub("", text[at + len(run):])
    scale = _typed_scale(rest, unit)
    if scale is None or (signed and scale[0] != 1):
        return f"只填数字，{cell}；“{typed_text}”中的单位或文字无法换算，请核实后填写，文字说明写在“情况说明”中"
    if signed:
        return f"本格填下降率，下降填正数、上升填负数：只填数字 {format_plain(-number if rise else number)}"
    factor, typed = scale
    shown = format_plain(number)
    if point and not typed and text == run:
        return f"小数点请用“.”，只填数字 {shown}"
    if not typed:
        return f"只填数字（如 {shown}）；“{typed_text}”中的文字说明请写在“情况说明”中"
    if factor == 1:
        return f"计量单位已是“{unit}”，只填数字 {shown}"
    measured = f"本格以“{unit}”计，" if unit else ""
    return f"{measured}请换算后只填数字（{shown}{typed}填 {format_plain(number * factor)}）"


def _typed_scale(rest: str, unit: str) -> tuple[float, str] | None:
    """What the words typed after a number make it worth in ``unit``: (factor, those unit words),
    (1, "") for no unit words (nothing, or only a remark), None for words that cannot be converted
    with certainty (another unit, kWh for kW, 辆 where 个 is asked)."""
    base, cell_scale = _unit_scale(unit)
    power = base == "千瓦"
    words = rest.lower() if len(rest.lower()) == len(rest) else rest
    power_key = _prefix(words, POWER_IN_KW) if power else ""
    multiplier = _prefix(words, _MULTIPLIERS)
    if len(power_key) >= len(multiplier) and power_key:  # 千瓦 and 万千瓦 are units, not 千 or 万
        factor, used = POWER_IN_KW[power_key], len(power_key)
    else:
        factor, used = _MULTIPLIERS.get(multiplier, 1), len(multiplier)  # (in a power cell: × 千瓦)
        after = words[used:]
        also = _prefix(after, POWER_IN_KW) if power else ""
        if also:  # 1.2万kW
            factor, used = factor * POWER_IN_KW[also], used + len(also)
        elif base and after.startswith(base.lower()):  # 150000平方米 where 万平方米 is asked
            used += len(base)
        elif base and after and base.lower().startswith(after):  # 12,345.6吨 where 吨标准煤 is asked
            used = len(words)
    if power and used and words[used:used + 1] == "p":  # 8MWp: a PV plant's peak power
        used += 1
    tail = words[used:]
    if tail and not tail.startswith(_ASIDE):
        return None
    if not used:
        return 1.0, ""
    converted = factor / cell_scale
    return (1.0 if math.isclose(converted, 1.0) else converted), rest[:used]


def _prefix(words: str, table: dict[str, int]) -> str:
    """The longest key of ``table`` that ``words`` starts with, or ""."""
    return max((k for k in table if words.startswith(k)), key=len, default="")


def _unit_scale(unit: str) -> tuple[str, float]:
    """A cell's unit as (base unit, how many of it one cell unit is): 万千瓦 → (千瓦, 10000),
    万元 → (元, 10000), 个 → (个, 1). Power is counted in 千瓦, whatever it is written as."""
    power = POWER_IN_KW.get(unit.lower())
    if power is not None:
        return "千瓦", power
    for prefix, scale in sorted(_MULTIPLIERS.items(), key=lambda kv: -len(kv[0])):
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return unit[len(prefix):], scale
    return unit, 1
