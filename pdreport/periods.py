"""Reporting periods: what an indicator should have reached by the end of a period (序时进度)."""

from __future__ import annotations

import math

from .plan.model import Accumulation, Indicator, Period, chinese_date


def sequential_target(indicator: Indicator, period: Period, whole: bool = True) -> float | None:
    """The figure the period should show if the year is on track.

    Cumulative amounts scale with the elapsed share of the year; levels, ratios and
    rates of change are compared as they stand (a mid-year level is read against the
    year-end level); milestones have no figure. Whole things (buses, sites) are asked for
    whole: the share rounded down (110.5 辆 → 110, a quarter of one 示范区 → 0), never more than
    the share of the year; ``whole=False`` gives the share itself.
    """
    if indicator.target is None or indicator.accumulation is Accumulation.MILESTONE:
        return None
    if indicator.accumulation is Accumulation.CUMULATIVE:
        share = round(indicator.target * period.elapsed, 6)
        return float(math.floor(share)) if whole and indicator.counted else share
    return indicator.target


def reporting_basis(indicator: Indicator, period: Period) -> str:
    """What the figure typed for this indicator means, in the words of the form."""
    pct = "填数字，如 95% 填 95" if indicator.unit == "%" else ""
    if indicator.accumulation is Accumulation.CUMULATIVE:
        text = f"{period.start.year}年1月1日至{chinese_date(period.end)}累计完成数"
    elif indicator.accumulation is Accumulation.LEVEL:
        text = f"截至{chinese_date(period.end)}的水平值"
    elif indicator.accumulation is Accumulation.RATE:
        text = "同比下降率：下降填正数，上升填负数"
        pct = "单位为%，如下降5.3%填 5.3"
    else:
        text = "是否完成"
    return f"{text}（{pct}）" if pct else text


def period_span(period: Period) -> str:
    """'2024年1月1日至2024年6月30日'."""
    return f"{chinese_date(period.start)}至{chinese_date(period.end)}"
