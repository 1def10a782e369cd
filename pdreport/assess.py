"""Assessment: the accepted returns + the plan + the period → where every target stands.

Pure functions over typed values: no I/O, no dependence on the order submissions
arrive in. Each result carries its status, the figures behind it and the reasons in
plain Chinese, so the summary workbook and the report only lay them out.

Sign conventions (tested): a *reduction rate* is typed as a positive number when the
quantity fell (下降 5.3% → 5.3) and a negative one when it rose; the annex rate is
computed here as ``(1 - intensity_now / intensity_base) × 100`` with the same sign.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from .findings import Code, Finding
from .intake.records import SUM_DECIMALS, AnnexReport, Source, Submission, TaskReport, newest_last
from .periods import sequential_target
from .plan.model import (
    Accumulation,
    AnnexUnit,
    Combine,
    Comparison,
    CrossCheck,
    HeadlineTarget,
    Indicator,
    Period,
    Plan,
    Respondent,
    Task,
    chinese_date,
    format_number,
)
from .template.layout import build_layout


class Status(Enum):
    """(Chinese label, severity): a combined status is the most severe of its parts."""

    DONE = ("已完成", 1)
    ON_TRACK = ("序时推进", 2)
    MISSING = ("未报送", 3)
    INVALID = ("数据有误", 4)
    BEHIND = ("滞后", 5)
    NOT_ASSESSED = ("不考核", 0)

    def __init__(self, label: str, severity: int):
        self.label = label
        self.severity = severity


STATUS_ORDER = (Status.DONE, Status.ON_TRACK, Status.BEHIND, Status.MISSING, Status.INVALID,
                Status.NOT_ASSESSED)  # fmt: skip
REPORTED_STATUS = {"已完成": Status.DONE, "推进中": Status.ON_TRACK, "已滞后": Status.BEHIND}
# At year end an indicator each unit is judged on, met by every unit that reported while others did
# not, cannot be confirmed done: it is 滞后, and the reason says why.
UNCONFIRMED_EACH = "，年末无法确认全部达到目标"


# said after a figure too large to be believed (``Figure.doubt``): why it makes the indicator 数据有误
DOUBTED = "数值明显不合理，未作评估，请核对"


def worst(statuses: Iterable[Status], default: Status = Status.MISSING) -> Status:
    return max(statuses, key=lambda s: s.severity, default=default)


def name_list(names: Sequence[str], limit: int = 5) -> str:
    """'甲、乙' or, past ``limit``, '甲、乙、丙、丁、戊等7个单位': how a sentence names units."""
    return "、".join(names[:limit]) + (f"等{len(names)}个单位" if len(names) > limit else "")


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """What one respondent said about one indicator."""

    respondent: str
    role: str  # lead | contributor | each
    state: str  # ok | missing (nothing usable typed or no return) | invalid (typed, rejected)
    value: float | None = None  # figures
    done: bool | None = None  # milestones
    done_on: dt.date | None = None
    note: str = ""
    source: Source | None = None
    status: Status | None = None  # set where the respondent is assessed on its own (combine: each)
    reason: str = ""

    @property
    def doubted(self) -> bool:
        """Taken in but too large to be believed (``Figure.doubt``, W205): kept, not judged."""
        return self.state == "invalid" and self.value is not None


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    status: Status
    value: float | None  # the district figure
    sequential: float | None  # what the period should show (序时目标)
    ratio: float | None  # value / annual target, where that means something
    reports: tuple[Report, ...]
    reasons: tuple[str, ...] = ()
    owed_by: tuple[str, ...] = ()  # respondent ids whose figure is missing
    contributors_sum: float | None = None
    contributors_reported: int = 0
    gap: float | None = None  # (lead - contributors' sum) / lead; None when their sum means nothing
    done: bool | None = None
    done_on: dt.date | None = None
    cross_check: str = ""  # why the contributors' figures (a milestone: 是否完成) disagree with the lead's ("…请核对"), if they do

    @property
    def target(self) -> float | None:
        return self.indicator.target

    @property
    def cross_check_flagged(self) -> bool:
        return bool(self.cross_check)

    def ratio_places(self) -> int:
        """Decimal places of the completion percentage (report, 汇总表): one, or as many more as keep
        a figure short of its 序时目标 or annual target from showing that target's share (24.96 %
        beside 滞后, not 25.0 %, for 649 of 2600 against a quarter's 650)."""
        if self.ratio is None:
            return 1
        pct = self.ratio * 100
        bars = [100.0] + ([self.sequential / self.target * 100] if self.sequential and self.target else [])
        below = min((b for b in bars if pct < b), default=None)
        return places(pct, 1, below) if below is not None else 1

    @property
    def doubted_lead(self) -> Report | None:
        """The lead's figure, where it is the district figure but too large to be believed."""
        if self.indicator.combine is not Combine.LEAD:
            return None
        return next((x for x in self.reports if x.role == "lead" and x.doubted), None)

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass(frozen=True)
class HeadlineResult:
    row: HeadlineTarget
    result: IndicatorResult


@dataclass(frozen=True)
class TaskResult:
    task: Task
    status: Status
    reports: tuple[TaskReport, ...]  # in the plan's respondent order
    indicators: tuple[IndicatorResult, ...]
    owed_by: tuple[str, ...]  # responsible respondents who said nothing about the task
    reasons: tuple[str, ...] = ()
    invalid_by: tuple[str, ...] = ()  # respondents whose row was typed but not taken in (E208 …)

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass(frozen=True)
class UnitResult:
    """One annex row: a 管理局/镇's industrial energy-intensity reduction."""

    unit: AnnexUnit
    status: Status
    energy_base: float | None
    energy_current: float | None
    output_base: float | None
    output_current: float | None
    rate: float | None  # reduction in %, positive = fell
    reasons: tuple[str, ...] = ()
    included: tuple[str, ...] = ()  # respondent ids whose figures are in the sums
    rolled_into: str | None = None  # this unit's figures count under that unit
    source: Source | None = None

    @property
    def target(self) -> float | None:
        return self.unit.target

    @property
    def intensity_base(self) -> float | None:
        return _ratio(self.energy_base, self.output_base)

    @property
    def intensity_current(self) -> float | None:
        return _ratio(self.energy_current, self.output_current)

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass(frozen=True)
class RespondentCard:
    """One office's scorecard: what it owed, what it sent, how it stands."""

    respondent: Respondent
    submission: Submission | None
    on_time: bool | None
    indicators: tuple[tuple[IndicatorResult, Report], ...]
    tasks: tuple[tuple[Task, TaskReport | None], ...]
    errors: int
    warnings: int

    @property
    def state(self) -> str:
        if self.submission is None:
            return "未报送"
        return "需退回修改" if self.errors else "已报送"


@dataclass
class Assessment:
    plan: Plan
    period: Period
    headline: tuple[HeadlineResult, ...]
    indicators: dict[str, IndicatorResult]
    tasks: tuple[TaskResult, ...]
    annex: tuple[UnitResult, ...]
    respondents: tuple[RespondentCard, ...]
    findings: tuple[Finding, ...] = ()
    previous: dict | None = field(default=None, repr=False)

    def task(self, number: int) -> TaskResult:
        return next(t for t in self.tasks if t.task.number == number)

    def unit(self, respondent_id: str) -> UnitResult:
        return next(u for u in self.annex if u.unit.respondent == respondent_id)

    def card(self, respondent_id: str) -> RespondentCard:
        return next(c for c in self.respondents if c.respondent.id == respondent_id)

    @property
    def submitted(self) -> list[RespondentCard]:
        return [c for c in self.respondents if c.submission is not None]

    @property
    def missing(self) -> list[RespondentCard]:
        return [c for c in self.respondents if c.submission is None]

    def status_counts(self, results: Iterable) -> dict[Status, int]:
        counts = {s: 0 for s in STATUS_ORDER}
        for r in results:
            counts[r.status] += 1
        return counts


# -- entry point ---------------------------------------------------------------------------------


def assess(
    plan: Plan,
    period: Period,
    submissions: Iterable[Submission] | Mapping[str, Submission],
    findings: Iterable[Finding] = (),
) -> Assessment:
    """Assess every indicator, task, annex unit and respondent for ``period``.

    ``submissions`` may hold several returns of one respondent: the newest (``newest_last``) is
    used, as intake does, so the result does not depend on order.
    """
    if isinstance(submissions, Mapping):
        submissions = submissions.values()
    subs = _newest(submissions)
    findings = tuple(findings)
    rejected = _rejected_fields(plan, period, subs, findings)
    results = {ind.id: assess_indicator(ind, period, subs, rejected.get(ind.id, {}),
                                        lambda rid: plan.respondent(rid).name)
               for ind in plan.indicators}  # fmt: skip
    headline = tuple(HeadlineResult(row, results[row.indicator]) for row in plan.headline)
    tasks = tuple(assess_task(plan, task, period, subs, results, rejected.get(f"task:{task.number}", {}))
                  for task in plan.tasks)  # fmt: skip
    annex = tuple(assess_unit(plan, unit, period, subs, rejected.get("annex", {}))
                  for unit in plan.annex.units)  # fmt: skip
    by_respondent: dict[str, list[Finding]] = {}  # (so that each card does not scan all findings)
    for f in findings:
        by_respondent.setdefault(f.respondent, []).append(f)
    reports: dict[str, dict[str, Report]] = {}  # indicator id → respondent id → its first report
    for ind_id, res in results.items():
        first = reports[ind_id] = {}
        for rep in res.reports:
            first.setdefault(rep.respondent, rep)
    cards = tuple(_card(plan, r, period, subs.get(r.id), results, by_respondent.get(r.id, ()), reports)
                  for r in plan.respondents)  # fmt: skip
    return Assessment(plan, period, headline, results, tasks, annex, cards, findings)


def _newest(submissions: Iterable[Submission]) -> dict[str, Submission]:
    by_respondent: dict[str, list[Submission]] = {}
    for sub in submissions:
        by_respondent.setdefault(sub.respondent, []).append(sub)
    return {rid: newest_last(subs)[-1] for rid, subs in by_respondent.items()}


def _rejected_fields(plan: Plan, period: Period, subs: dict[str, Submission],
                     findings: tuple[Finding, ...]) -> dict[str, dict[str, str]]:  # fmt: skip
    """ref (indicator id or "annex") → {respondent id: message} for inputs that were typed but
    not taken in (wrong type, out of range, edited row, deleted sheet) — "数据有误", not "未报送"."""
    errors: dict[str, list[Finding]] = {}
    for f in findings:
        if f.is_error and f.respondent in subs and f.code is not Code.REQUIRED_MISSING:
            if f.file in ("", subs[f.respondent].file):
                errors.setdefault(f.respondent, []).append(f)
    out: dict[str, dict[str, str]] = {}
    for rid, found in errors.items():
        layout = build_layout(plan, plan.respondent(rid), period)
        for fld in layout.fields:
            if not fld.key.startswith(("ind.", "annex.", "task.")):
                continue
            row, col = _row(fld.cell), _col(fld.cell)
            for f in found:
                # an edited label drops its row's fields, or its column's when it heads one (as
                # validate.check_structure does)
                hit = (f.field == fld.key or (f.sheet == fld.sheet and not f.cell and not f.field)
                       or (f.code is Code.LABEL_CHANGED and f.sheet == fld.sheet
                           and (_row(f.cell) == row or _col(f.cell) == col)))  # fmt: skip
                if hit:
                    ref = f"task:{fld.ref}" if fld.key.startswith("task.") else fld.ref
                    out.setdefault(ref, {}).setdefault(rid, f.message)
    return out


def _row(a1: str) -> int:
    digits = "".join(ch for ch in a1 if ch.isdigit())
    return int(digits) if digits else -1


def _col(a1: str) -> str:
    return "".join(ch for ch in a1 if ch.isalpha()) or "?"


# -- indicators ----------------------------------------------------------------------------------


def _role(ind: Indicator, rid: str) -> str:
    if ind.combine is Combine.EACH:
        return "each"
    return "lead" if rid == ind.lead else "contributor"


def _report(ind: Indicator, rid: str, subs: dict[str, Submission], rejected: dict[str, str]) -> Report:
    role = _role(ind, rid)
    sub = subs.get(rid)
    if sub is None:
        return Report(rid, role, "missing", reason="未报送")
    if ind.is_milestone:
        m = next((m for m in sub.milestones if m.indicator == ind.id), None)
        if m is not None:
            return Report(rid, role, "ok", done=m.done, done_on=m.date, note=m.note, source=m.source)
    else:
        fig = next((f for f in sub.figures if f.indicator == ind.id), None)
        if fig is not None and fig.doubt and not (ind.combine is Combine.LEAD and role == "contributor"):
            # a figure ten times its target (W205) is kept as typed but not judged: read as it
            # stands it would make the indicator 已完成 on a unit slip. A contributor's is only
            # checked against the lead's, which says 请核对 where one alone exceeds the district.
            return Report(rid, role, "invalid", value=fig.value, note=fig.note, source=fig.source,
                          reason=f"{fig.doubt}，{DOUBTED}")  # fmt: skip
        if fig is not None:
            return Report(rid, role, "ok", value=fig.value, note=fig.note, source=fig.source)
    if rid in rejected:
        return Report(rid, role, "invalid", reason=f"填报数据有误：{rejected[rid]}")
    return Report(rid, role, "missing", reason="报表中未填写")


def around_text(ind: Indicator) -> str:
    """A target '左右' as the report says it: the notice's words and how it is assessed,
    '95%左右（不低于94%即达标）'. A gap is measured to that floor, so the floor is said wherever
    the target is (the plan's ±tolerance is not the notice's words)."""
    t, unit = ind.target, ind.unit
    floor = format_number(t - (ind.tolerance or 0.0))
    return f"{format_number(t)}{unit}左右（不低于{floor}{unit}即达标）"


def stated_target(ind: Indicator) -> str:
    """The annual target as the report and 汇总表 print it: as the plan states it, except that a
    target '左右' says how it is assessed ('95%左右（不低于94%即达标）'), as the reasons do, since
    its shortfall is measured to that floor. (The clerks' templates keep the plan's wording.)"""
    if ind.comparison is Comparison.AROUND and ind.target is not None:
        return around_text(ind)
    return ind.target_text()


def judge(ind: Indicator, value: float, period: Period) -> tuple[Status, str]:
    """One figure against the target for the period, with the reason in Chinese.

    A figure short of its bar (or over a cap) by less than the usual decimals show is written with
    as many more as it takes (``num_text``): a 滞后 never reads "差0" or shows the target's own figure."""
    t, unit = ind.target, ind.unit
    v_txt = f"{format_number(value)}{unit}"
    if t is None:
        return Status.NOT_ASSESSED, f"完成{v_txt}"
    year_end = period.is_year_end
    unit_word = "个百分点" if unit == "%" else unit
    cumulative = ind.accumulation is Accumulation.CUMULATIVE
    if cumulative and ind.comparison is Comparison.AT_LEAST:
        seq = sequential_target(ind, period) or 0.0
        if value >= t:
            return Status.DONE, f"完成{v_txt}，已达到年度目标{format_number(t)}{unit}"
        if value >= seq and not year_end:
            return Status.ON_TRACK, f"完成{v_txt}，达到序时目标{format_number(seq)}{unit}"
        bar, what = (t, "年度目标") if year_end else (seq, "序时目标")
        shown = f"{num_text(value, 6, bar)}{unit}"
        return Status.BEHIND, f"完成{shown}，低于{what}{format_number(round(bar, 4))}{unit}，差{num_text(bar - value)}{unit}"
    if cumulative and ind.comparison is Comparison.AT_MOST:
        # a cap on an amount counted since 1 January is, like any cumulative figure, judged by the
        # elapsed share of the year (docs/plan-format.md): in the year the 序时目标 is the most the
        # period may show, and only the year's figure can be within the annual cap (已完成)
        seq = sequential_target(ind, period)
        bar, what = (t, "年度目标") if year_end or seq is None else (seq, "序时目标")
        cap = f"{what}{format_number(bar)}{unit}"
        if value <= bar:
            if year_end:
                return Status.DONE, f"为{v_txt}，未超过{cap}"
            return Status.ON_TRACK, f"为{v_txt}，未超过{cap}（年度目标不高于{format_number(t)}{unit}）"
        return Status.BEHIND, f"为{num_text(value, 6, bar)}{unit}，高于{cap}，超出{num_text(value - bar)}{unit}"
    inner = ""  # the target as said in brackets, where ``need`` has brackets of its own
    floor = t - (ind.tolerance or 0.0) if ind.comparison is Comparison.AROUND else t
    shown = num_text(value, 6, floor)  # (as many decimals as tell a figure short of its bar from the bar)
    if ind.comparison is Comparison.REDUCTION_AT_LEAST:
        said = f"同比下降{shown}{unit}" if value >= 0 else f"同比不降反升{num_text(-value, 6)}{unit}"
        meets = value >= t
        need = f"目标下降{format_number(t)}{unit}"
    elif ind.comparison is Comparison.AROUND:
        tol = ind.tolerance or 0.0
        said = f"为{shown}{unit}"
        meets = value >= t - tol  # above the band is better, not a miss (达标率)
        need = f"目标{around_text(ind)}"
        inner = f"目标{format_number(t)}{unit}左右，不低于{format_number(t - tol)}{unit}即达标"
    elif ind.comparison is Comparison.AT_MOST:
        said, meets, need = f"为{shown}{unit}", value <= t, f"目标不高于{format_number(t)}{unit}"
    else:
        said, meets, need = f"为{shown}{unit}", value >= t, f"目标{format_number(t)}{unit}"
    if meets:
        if year_end:
            return Status.DONE, f"{said}，达到{need}"
        return Status.ON_TRACK, f"{said}，已达到年度目标水平（{inner or need}），需保持至年底"
    gap = abs(floor - value)
    if ind.comparison is Comparison.AT_MOST:  # over a cap: it exceeds, it is not short of anything
        return Status.BEHIND, f"{said}，{need}，超出{num_text(gap)}{unit_word}"
    return Status.BEHIND, f"{said}，{need}，尚差{num_text(gap)}{unit_word}"


def places(x: float, decimals: int, other: float = 0.0) -> int:
    """Decimal places that show ``x`` as other than ``other`` (a gap as other than 0, a figure short
    of its target as other than the target): ``decimals``, or as many more as it takes (at most 12).
    Every output that rounds a figure judged against a target uses it (reasons, report, 汇总表)."""
    d = decimals
    while d < 12 and x != other and round(x, d) == round(other, d):
        d += 1
    return d


def num_text(x: float, decimals: int = 4, other: float = 0.0) -> str:
    """``x`` rounded to ``decimals`` places (trailing zeros dropped), or to more where fewer would
    read as ``other``: a gap of 0.00001 is '0.00001', not '0'; 11.24999 against 11.25 stays 11.24999."""
    d = places(x, decimals, other)
    text = f"{round(x, d):.{d}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def judge_milestone(ind: Indicator, report: Report, period: Period) -> tuple[Status, str]:
    due = ind.deadline
    if report.done:
        when = f"于{chinese_date(report.done_on)}" if report.done_on else ""
        return Status.DONE, f"已{when}完成"
    if due is not None and due <= period.end:
        return Status.BEHIND, f"未完成，已过计划完成时间（{chinese_date(due)}）"
    return Status.ON_TRACK, f"尚未完成，计划{chinese_date(due)}前完成" if due else "尚未完成"


def assess_indicator(ind: Indicator, period: Period, subs: dict[str, Submission],
                     rejected: dict[str, str], name_of: Callable[[str], str] = str) -> IndicatorResult:  # fmt: skip
    reports = tuple(_report(ind, rid, subs, rejected) for rid in ind.reporters)
    owed = tuple(r.respondent for r in reports if r.state == "missing")
    seq = sequential_target(ind, period)
    if ind.is_milestone:
        return _assess_milestone(ind, period, reports, owed, name_of)
    if ind.combine is Combine.EACH:
        return _assess_each(ind, period, reports, owed, seq, name_of)
    if ind.combine is Combine.SUM:
        ok = [r for r in reports if r.state == "ok"]
        if not ok:
            return _unreported(ind, reports, owed, seq)
        value = _total(r.value for r in ok)
        if value is None:
            return IndicatorResult(ind, Status.INVALID, None, seq, None, reports, ("填报数值异常，无法合计",), owed)
        invalid = [r for r in reports if r.state == "invalid"]
        if invalid:
            # as when the lead's figure (combine: lead) or a unit's own (each) is rejected: a total
            # without a figure that was typed but not taken in (or one not to be believed) is no
            # district figure (数据有误); the rest's sum is said for reference only, as the
            # contributors' is without the lead's
            reasons = invalid_reasons(invalid, name_of)
            reasons.append(f"无法得出全区合计，其余{len(ok)}个单位合计{format_number(value)}{ind.unit}，仅供参考")
            if owed:
                reasons.append(f"{len(owed)}个单位未报送")
            return IndicatorResult(ind, Status.INVALID, None, seq, None, reports, tuple(reasons), owed)
        status, reason = judge(ind, value, period)
        reasons = [f"{len(ok)}个单位合计：{reason}"]
        if owed:
            reasons.append(f"{len(owed)}个单位未报送，未计入")
        return IndicatorResult(ind, status, value, seq, _completion(ind, value), reports,
                               tuple(reasons), owed)  # fmt: skip
    lead = next(r for r in reports if r.role == "lead")
    contributors = [r for r in reports if r.role == "contributor" and r.state == "ok"]
    csum = _total(r.value for r in contributors) if contributors else None
    if lead.state != "ok":
        status = Status.INVALID if lead.state == "invalid" else Status.MISSING
        reasons = [f"牵头单位{lead.reason}"]
        if csum is not None:
            reasons.append(f"参与单位合计{format_number(csum)}{ind.unit}（{len(contributors)}个单位），仅供参考")
        return IndicatorResult(ind, status, None, seq, None, reports, tuple(reasons), owed, csum,
                               len(contributors))  # fmt: skip
    status, reason = judge(ind, lead.value, period)
    reasons = [reason]
    gap = None
    check = ""
    if csum is not None:
        gap = (lead.value - csum) / lead.value if lead.value else (0.0 if csum == 0 else -1.0)
        check = _cross_check(ind, lead.value, csum, gap, contributors, name_of)
        if ind.cross_check is CrossCheck.OVERLAPPING:
            gap = None  # (a sum that counts some figures twice is no measure of anything)
        if check:
            reasons.append(check)
    return IndicatorResult(ind, status, lead.value, seq, _completion(ind, lead.value), reports,
                           tuple(reasons), owed, csum, len(contributors), gap, cross_check=check)  # fmt: skip


def invalid_reasons(invalid: Sequence[Report], name_of: Callable[[str], str]) -> list[str]:
    """Why the units' figures were not judged: typed but not taken in (an error at the cell), or
    taken in but not to be believed (ten times the target: each such unit said with its figure)."""
    rejected = [name_of(r.respondent) for r in invalid if not r.doubted]
    reasons = [f"{name_list(rejected)}填报数据有误（未采用）"] if rejected else []
    reasons += [f"{name_of(r.respondent)}{r.reason}" for r in invalid if r.doubted]
    return reasons


def _cross_check(ind: Indicator, lead: float, csum: float, gap: float, contributors: list[Report],
                 name_of: Callable[[str], str]) -> str:  # fmt: skip
    """Why the contributors' figures disagree with the lead's district figure, ending in "请核对",
    or "" when they do not, as ``ind.cross_check`` says they should agree: a sum equal to it
    (TOTAL), a sum not above it (PARTS), no unit above it (OVERLAPPING). A sum many times the
    lead's is said as a multiple, and a unit that alone reports more than the whole district
    (3000 typed in 千瓦 where 万千瓦 is asked) is named."""
    u, tol = ind.unit, ind.cross_check_tolerance
    over = sorted((r for r in contributors if r.value > lead + abs(lead) * tol), key=lambda r: -r.value)
    units = name_list([f"{name_of(r.respondent)}填报{format_number(r.value)}{u}" for r in over], 3)
    if ind.cross_check is CrossCheck.OVERLAPPING:
        if not over:
            return ""
        return f"参与单位中{units}，单个单位已超过牵头单位的全区数{format_number(lead)}{u}，可能计量单位有误，请核对"
    if not (abs(gap) > tol if ind.cross_check is CrossCheck.TOTAL else gap < -tol):
        return ""
    text = f"牵头单位数{format_number(lead)}{u}与参与单位合计{format_number(csum)}{u}（{len(contributors)}个单位）"
    if lead > 0 and csum >= 2 * lead:
        text += f"不符，合计是牵头单位数的{csum / lead:.1f}倍"
    elif lead == 0:
        text += "不符"
    elif ind.cross_check is CrossCheck.PARTS:
        text += f"不符，合计超过牵头单位数{abs(gap) * 100:.1f}%"
    else:
        text += f"相差{abs(gap) * 100:.1f}%"
    if over:
        text += f"；其中{units}，单个单位已超过全区数，可能计量单位有误"
    return text + "，请核对"


def _unreported(ind, reports, owed, seq) -> IndicatorResult:
    invalid = [r for r in reports if r.state == "invalid"]
    status = Status.INVALID if invalid else Status.MISSING
    reason = invalid[0].reason if invalid else "未报送"
    return IndicatorResult(ind, status, None, seq, None, reports, (reason,), owed)


def _assess_each(ind, period, reports, owed, seq, name_of: Callable[[str], str] = str) -> IndicatorResult:
    judged = []
    for r in reports:
        if r.state == "ok":
            status, reason = judge(ind, r.value, period)
            r = Report(**{**r.__dict__, "status": status, "reason": reason})
        else:
            r = Report(**{**r.__dict__, "status": Status.INVALID if r.state == "invalid" else Status.MISSING})
        judged.append(r)
    ok = [r for r in judged if r.state == "ok"]
    if not ok:
        return _unreported(ind, tuple(judged), owed, seq)
    # as for a sum or a task, the units that sent nothing are named in the reasons (and chased in
    # 催报名单) but do not make the indicator 未报送 while others did report it
    status = worst(r.status for r in judged if r.state != "missing")
    unconfirmed = status is Status.DONE and bool(owed)
    if unconfirmed:  # in the year: on track; at year end: not confirmed done, so not done
        status = Status.BEHIND if period.is_year_end else Status.ON_TRACK
    behind = [r for r in ok if r.status is Status.BEHIND]
    reasons = [f"{len(ok)}个单位报送，{len(ok) - len(behind)}个达到目标"]
    if behind:
        reasons.append(f"{len(behind)}个单位未达到目标")
    invalid = [r for r in judged if r.state == "invalid"]
    if invalid:  # (what makes the indicator 数据有误: who, and that their figure was not taken in)
        reasons += invalid_reasons(invalid, name_of)
    if owed:
        reasons.append(f"{len(owed)}个单位未报送" + (UNCONFIRMED_EACH if unconfirmed and period.is_year_end else ""))
    low = min(r.value for r in ok)
    return IndicatorResult(ind, status, None, seq, _completion(ind, low), tuple(judged), tuple(reasons), owed)


def _assess_milestone(ind, period, reports, owed, name_of: Callable[[str], str] = str) -> IndicatorResult:
    lead = next((r for r in reports if r.role == "lead"), reports[0])
    if lead.state != "ok":
        status = Status.INVALID if lead.state == "invalid" else Status.MISSING
        return IndicatorResult(ind, status, None, None, None, reports, (f"牵头单位{lead.reason}",), owed)
    status, reason = judge_milestone(ind, lead, period)
    check = _milestone_check(lead, reports, name_of)
    return IndicatorResult(ind, status, None, None, None, reports, (reason, check) if check else (reason,),
                           owed, done=lead.done, done_on=lead.done_on, cross_check=check)  # fmt: skip


def _milestone_check(lead: Report, reports: Sequence[Report], name_of: Callable[[str], str]) -> str:
    """Who among the contributors says the opposite of the lead about a milestone being done,
    ending in "请核对" as a figure's cross-check does, or "" when none does. The lead's word stays
    the verdict (as its figure stays the district's): one of the two reports is wrong, and which
    is for the units to say, not for the count of voices."""
    other = [name_of(r.respondent) for r in reports
             if r.role == "contributor" and r.state == "ok" and bool(r.done) != bool(lead.done)]  # fmt: skip
    if not other:
        return ""
    said, against = ("已完成", "未完成") if lead.done else ("未完成", "已完成")
    return f"牵头单位报{said}，参与单位{name_list(other)}报{against}，请核对"


def _completion(ind: Indicator, value: float | None) -> float | None:
    if value is None or not ind.target or ind.comparison is Comparison.AT_MOST:
        return None
    return value / ind.target


# -- tasks ---------------------------------------------------------------------------------------


def assess_task(plan: Plan, task: Task, period: Period, subs: dict[str, Submission],
                results: dict[str, IndicatorResult], rejected: dict[str, str] | None = None) -> TaskResult:  # fmt: skip
    """``rejected``: respondent id → why its row of this task was not taken in (a row that was typed
    but edited or shifted: 数据有误, not 未报送)."""
    rejected = rejected or {}
    reports, owed, invalid = [], [], []
    for rid in task.respondents:
        sub = subs.get(rid)
        rep = next((t for t in sub.tasks if t.task == task.number), None) if sub else None
        if rep is not None and (rep.status or rep.progress):
            reports.append(rep)
        elif rid in rejected:
            invalid.append(rid)
        else:
            owed.append(rid)
    indicators = tuple(results[i] for i in plan.task_indicators(task))
    assessed = [r for r in indicators if r.status not in (Status.MISSING, Status.NOT_ASSESSED)]
    said = [REPORTED_STATUS.get(r.status, Status.ON_TRACK) for r in reports]
    not_started = [r for r in reports if r.status == "未启动"]
    year_end = period.is_year_end
    # units still at work (推进中, or progress text without a status); at year end nothing is on
    # schedule any more: their word means "not finished" (滞后), unless every indicator of the task
    # has reached its annual target (the notice's measure of the year's work), when it is
    # continuing work and the task is done (see 评估规则 in README.md)
    continuing = [r for r, s in zip(reports, said, strict=True) if s is Status.ON_TRACK and r.status != "未启动"]
    judged = [r for r in indicators if r.status is not Status.NOT_ASSESSED]
    settled = bool(judged) and all(r.status is Status.DONE for r in judged)
    if year_end:
        said = [Status.BEHIND if r.status == "未启动" else (Status.DONE if settled else Status.BEHIND)
                if s is Status.ON_TRACK else s for r, s in zip(reports, said, strict=True)]  # fmt: skip
    reasons: list[str] = []
    if not reports and not assessed:
        # like an indicator nobody reported usably: 数据有误 when someone's row was rejected
        status = Status.INVALID if invalid else Status.MISSING
        if not invalid:
            reasons.append("责任单位均未报送")
    else:
        status = worst([*said, *(r.status for r in assessed)], default=Status.ON_TRACK)
        unreported = [r.indicator.name for r in indicators if r.status is Status.MISSING]
        unconfirmed = status is Status.DONE and bool(owed or invalid or unreported)
        if unconfirmed:  # in the year: on track; at year end: not confirmed done, so not done
            status = Status.BEHIND if year_end else Status.ON_TRACK
        late = [plan.respondent(r.respondent).name for r in reports if r.status == "已滞后"]
        if late:  # (every unit's own status is in 汇总表: a reason names the first ten)
            reasons.append(f"{name_list(late, 10)}报告进度滞后")
        behind = [r.indicator for r in indicators if r.status is Status.BEHIND]
        short = [i.name for i in behind if i.comparison is not Comparison.AT_MOST]
        over = [i.name for i in behind if i.comparison is Comparison.AT_MOST]  # (a cap exceeded)
        if short:
            reasons.append(f"{'未完成年度目标' if year_end else '未达到序时要求'}：{'、'.join(short)}")
        if over:
            reasons.append(f"{'超出年度目标' if year_end else '超出序时目标'}：{'、'.join(over)}")
        if not_started:
            reasons.append(f"{len(not_started)}个单位尚未启动")
        if year_end and continuing:
            who = name_list([plan.respondent(r.respondent).name for r in continuing], 10)
            if not settled:
                reasons.append(f"{who}年末仍在推进中")
            elif status is Status.DONE:
                reasons.append(f"各项指标均已完成年度目标，{who}报告相关工作仍在持续推进")
        # an indicator whose figure was rejected is said too: the task's status may be another's
        # (at year end a unit still at work makes it 滞后 unless every indicator is confirmed done,
        # which that figure leaves open), and its 数据有误 line is not left unexplained
        wrong = [r.indicator.name for r in indicators if r.status is Status.INVALID]
        if wrong:
            said_of = "数据有误待核实，年末无法确认完成年度目标" if year_end else "数据有误待核实"
            reasons.append(f"{said_of}：{'、'.join(wrong)}")
        if year_end and unconfirmed:
            why = [f"{len(owed)}个责任单位未报送"] if owed else []  # (named by owed_by)
            why += [f"{'、'.join(unreported)}未报送"] if unreported else []
            reasons.append("，".join([*why, "年末无法确认全部完成"]))  # (数据有误: named below)
    # (who owes a report is ``owed_by``, which every output lists on its own)
    if invalid:
        shown = name_list([plan.respondent(r).name for r in invalid], 6)
        reasons.append(f"数据有误（本单位此项填报未采用）：{shown}")
    return TaskResult(task, status, tuple(reports), indicators, tuple(owed), tuple(reasons), tuple(invalid))


# -- annex ---------------------------------------------------------------------------------------


_ANNEX_FIGURES = ("energy_base", "energy_current", "output_base", "output_current")


def assess_unit(plan: Plan, unit: AnnexUnit, period: Period, subs: dict[str, Submission],
                rejected: dict[str, str]) -> UnitResult:  # fmt: skip
    """One annex row. The figures of the units the annex's 注 counts in this one (金桥镇 in 金桥管理局)
    are added to its own before the rate is taken. A merged unit that gave no figures (no return,
    or the annex left blank) is not counted, and said so; one whose figures were typed but are
    incomplete or not taken in leaves no combined rate: 数据有误, naming it (the rule in README.md
    评估规则). A unit the notice sets no target for ("/") is 不考核 whatever its data (their
    problems are in 问题清单)."""
    host = plan.annex.rolls_into(unit.respondent)
    own = _annex(subs.get(unit.respondent))
    if host is not None:
        name = plan.respondent(host).name
        _, state, why = _annex_part(unit.respondent, subs, rejected)
        said = [why] if state != "ok" and unit.respondent in subs else []
        return _unit_result(unit, Status.NOT_ASSESSED, [own] if own else [],
                            [f"按通知附件注释并入{name}计算", *said], host)  # fmt: skip
    result = _assess_own(plan, unit, period, subs, rejected, own)
    if unit.assessed or result.status is Status.NOT_ASSESSED:
        return result
    # "/": reported, not assessed (a unit with no return or a blank sheet is 不考核 already)
    first, *rest = result.reasons or ("",)
    reasons = (f"{first}（通知未下达目标，不考核）", *rest)
    return replace(result, status=Status.NOT_ASSESSED, reasons=reasons)


def _annex_part(rid: str, subs: dict[str, Submission], rejected: dict[str, str]) -> tuple[AnnexReport | None, str, str]:
    """A merged unit's annex figures: (report, "ok", "") when all four are there, else (None, state,
    why) — "missing" for no return or a blank annex, "invalid" for figures typed but incomplete or
    not taken in (a rejected cell, a deleted sheet)."""
    sub = subs.get(rid)
    if sub is None:
        return None, "missing", "未报送"
    rep = sub.annex
    figures = [] if rep is None else [getattr(rep, k) for k in _ANNEX_FIGURES]
    if rep is not None and None not in figures:
        return rep, "ok", ""
    if rid in rejected:
        return None, "invalid", f"填报数据有误：{rejected[rid]}"
    if rep is None or all(v is None for v in figures):
        return None, "missing", "附件指标未填写"
    return None, "invalid", "能耗或产值数据不全"


def _assess_own(plan: Plan, unit: AnnexUnit, period: Period, subs: dict[str, Submission],
                rejected: dict[str, str], own: AnnexReport | None) -> UnitResult:  # fmt: skip
    reasons: list[str] = []
    counted: list[AnnexReport] = []
    wrong: list[str] = []  # merged units whose figures were typed but cannot be used
    for rid in unit.rolls_in:
        name = plan.respondent(rid).name
        rep, state, why = _annex_part(rid, subs, rejected)
        if state == "ok":
            counted.append(rep)
            reasons.append(f"{name}已报送，待本单位报送后合并计算" if own is None else f"含{name}")
        elif state == "missing":
            reasons.append(f"{name}{why}，未计入")
        else:
            wrong.append(name)
            reasons.append(f"{name}{why}")
    reports = ([own] if own is not None else []) + counted
    if own is None:
        if unit.respondent in rejected:
            return _unit_result(unit, Status.INVALID, reports, [f"填报数据有误：{rejected[unit.respondent]}", *reasons])
        status = Status.MISSING if unit.assessed else Status.NOT_ASSESSED
        return _unit_result(unit, status, reports, ["未报送", *reasons])
    sums = [_sum(getattr(r, k) for r in reports) for k in _ANNEX_FIGURES]
    eb, ec, ob, oc = sums
    rate = None
    blank = all(getattr(own, k) is None for k in _ANNEX_FIGURES)
    if blank and unit.respondent not in rejected:
        status, why = (Status.MISSING if unit.assessed else Status.NOT_ASSESSED), "报表中未填写"
    elif None in sums:
        status, why = Status.INVALID, "能耗或产值数据不全或数值异常，无法计算下降率"
    elif wrong:  # (its own figures are complete: the merged unit's are what is missing)
        status, why = Status.INVALID, f"并入计算的{'、'.join(wrong)}数据有误，无法计算合并后的下降率"
    elif eb <= 0 or ob <= 0 or oc <= 0:
        status, why = Status.INVALID, "上年同期能耗、产值或本期产值为0，无法计算下降率"
    elif (rate := _rate(eb, ec, ob, oc)) is None:
        status, why = Status.INVALID, "能耗或产值数据异常，无法计算下降率"
    else:
        if unit.assessed:
            status, why = _judge_rate(rate, unit.target, period)
        else:
            status, why = Status.NOT_ASSESSED, f"{_rate_text(rate)}（通知未下达目标，不考核）"
    if status is Status.INVALID and unit.respondent in rejected and not wrong:
        why = f"填报数据有误：{rejected[unit.respondent]}"
    return _unit_result(unit, status, reports, [why, *reasons], rate=rate, sums=sums)


def _judge_rate(rate: float, target: float, period: Period) -> tuple[Status, str]:
    if rate >= target:
        said = _rate_text(rate)
        if period.is_year_end:
            return Status.DONE, f"{said}，达到目标（下降{format_number(target)}%）"
        return Status.ON_TRACK, f"{said}，已达到年度目标（下降{format_number(target)}%），需保持至年底"
    # (a rate just short of the target is written with the decimals that tell it from the target,
    # and so is its gap: 3.496% is "3.496%，尚差0.004个百分点", never "3.50%，尚差0个百分点")
    said = _rate_text(rate, target)
    return Status.BEHIND, f"{said}，目标下降{format_number(target)}%，尚差{num_text(target - rate, 2)}个百分点"


def _rate_text(rate: float, below: float | None = None) -> str:
    """'同比下降3.50%' (two decimals), with more where two would round a rate short of ``below`` onto it."""
    d = _rate_places(rate, below)
    return f"同比下降{rate:.{d}f}%" if rate >= 0 else f"同比上升{-rate:.{d}f}%"


def _rate_places(rate: float, below: float | None) -> int:
    return places(rate, 2, below) if below is not None and rate < below else 2


def rate_places(u: UnitResult) -> int:
    """Decimal places an annex unit's rate is shown with (report, 汇总表): two, or as many as tell
    a rate short of the unit's target from it (3.496, not 3.50, for a 3.5 target)."""
    return 2 if u.rate is None else _rate_places(u.rate, u.unit.target)


def intensity_places(value: float) -> int:
    """Decimal places that show an annex 万元产值能耗 to six significant figures (report, 汇总表):
    enough that the 下降率 beside it, computed from the unrounded figures, comes out the same when a
    reader recomputes it from them, and that an intensity typed in 万吨 (0.0000037) is never shown
    as 0. At most ten."""
    return 0 if value == 0 else min(10, max(0, 5 - math.floor(math.log10(abs(value)))))


def _annex(sub: Submission | None) -> AnnexReport | None:
    return sub.annex if sub is not None else None


def _sum(values: Iterable[float | None]) -> float | None:
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return _total(values)


def _total(values: Iterable[float]) -> float | None:
    """The rounded sum, or None when absurdly large figures overflow it (never inf in a result)."""
    total = round(sum(values), SUM_DECIMALS)
    return total if math.isfinite(total) else None


def _rate(eb: float, ec: float, ob: float, oc: float) -> float | None:
    """Reduction of energy per output in %, or None when the ratios over- or underflow."""
    base, now = eb / ob, ec / oc
    if not base or not math.isfinite(base) or not math.isfinite(now):
        return None
    rate = round((1 - now / base) * 100, 4)
    return rate if math.isfinite(rate) else None


def _unit_result(unit, status, reports, reasons, rolled_into=None, rate=None, sums=None) -> UnitResult:
    if sums is None:
        own = next((r for r in reports if r.respondent == unit.respondent), None)
        sums = [getattr(own, k) if own else None for k in
                ("energy_base", "energy_current", "output_base", "output_current")]  # fmt: skip
        if rate is None and own is not None and None not in sums and sums[0] > 0 and sums[2] > 0 and sums[3] > 0:
            rate = _rate(*sums)
    first = next((r.source for r in reports if r.respondent == unit.respondent), None)
    return UnitResult(unit, status, *sums, rate, tuple(reasons), tuple(r.respondent for r in reports),
                      rolled_into, first)  # fmt: skip


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return a / b


# -- respondents ---------------------------------------------------------------------------------


def _card(plan: Plan, resp: Respondent, period: Period, sub: Submission | None,
          results: dict[str, IndicatorResult], findings: Iterable[Finding],
          reports: dict[str, dict[str, Report]] | None = None) -> RespondentCard:  # fmt: skip
    """``reports``: each indicator's first report by respondent (``assess`` passes it, so that no
    card scans every report); ``findings`` may be all of them or the respondent's."""
    mine = [f for f in findings if f.respondent == resp.id and (sub is None or f.file in ("", sub.file))]
    errors = sum(f.is_error for f in mine)
    indicators = []
    for ind in plan.indicators_for(resp.id):
        res = results[ind.id]
        rep = (reports or {}).get(ind.id, {}).get(resp.id)
        if rep is None:
            rep = next(r for r in res.reports if r.respondent == resp.id)
        indicators.append((res, rep))
    tasks = []
    for task in plan.tasks_for(resp.id):
        rep = next((t for t in sub.tasks if t.task == task.number), None) if sub else None
        tasks.append((task, rep))
    # judged by the 填报日期 the office typed (file times change with every copy and time zone) on its
    # first return of the period: a correction sent back after the deadline does not make it late
    first = None if sub is None else sub.first_filled_on or sub.filled_on
    on_time = None if first is None else first <= period.deadline
    return RespondentCard(resp, sub, on_time, tuple(indicators), tuple(tasks), errors, len(mine) - errors)


# -- comparison with an earlier period ---------------------------------------------------------------

SNAPSHOT_VERSION = 1


def snapshot(a: Assessment) -> dict:
    """The figures a later period compares with (written as 评估结果.json)."""
    return {
        "pdreport_snapshot": SNAPSHOT_VERSION,
        "plan_id": a.plan.id,
        "period": a.period.id,
        "period_label": a.period.label,
        "indicators": {i: {"value": r.value, "status": r.status.label, "done": r.done}
                       for i, r in sorted(a.indicators.items())},  # fmt: skip
        # indicators each respondent is assessed on alone: their own figures, for 较上期 per unit
        "each": {i: {rep.respondent: rep.value for rep in r.reports if rep.value is not None}
                 for i, r in sorted(a.indicators.items()) if r.indicator.combine is Combine.EACH},  # fmt: skip
        "tasks": {str(t.task.number): t.status.label for t in a.tasks},
        "annex": {u.unit.respondent: {"rate": u.rate, "status": u.status.label} for u in a.annex},
        "submitted": sorted(c.respondent.id for c in a.submitted),
    }


def previous_label(a: Assessment) -> str:
    """The period ``--previous`` compared with ('2024年一季度'; not always the one just before, so
    the report and 汇总表 name it), "" without one."""
    prev = a.previous or {}
    label = prev.get("period_label")
    if not label:  # (a snapshot without its label: the plan's name of its period)
        label = next((p.label for p in a.plan.periods if p.id == prev.get("period")), "")
    return label if isinstance(label, str) else ""


def change_text(a: Assessment, kind: str, key: str, value: float | None = None, status: Status | None = None) -> str:
    """'较上期+3.2', '与上期持平', '上期：滞后', '较上期-2，累计数比上期少，请核对' … or '' when there
    is nothing to compare. Never a bracket: the report writes it in brackets."""
    prev = a.previous
    if not prev:
        return ""
    entry = prev.get(kind, {}).get(key)
    if entry is None:
        return ""
    if kind == "tasks":
        return f"上期：{entry}" if status is not None and entry != status.label else ""
    res = a.indicators.get(key) if kind == "indicators" else None
    if res is not None and res.indicator.is_milestone:
        # done cannot be undone: one of the two reports is wrong, so it is flagged like a count
        # that fell; otherwise, as for a task, the previous status where it differs
        if entry.get("done") is True and res.done is False:
            return UNDONE
        return f"上期：{entry['status']}" if entry.get("status") and entry["status"] != res.status.label else ""
    old = entry.get("rate" if kind == "annex" else "value")
    if value is None or old is None:
        return f"上期：{entry.get('status', '')}" if entry.get("status") else ""
    diff = round(value - old, 2)  # as the figures themselves are shown
    if diff == 0:
        return "与上期持平"
    # (a change of a percentage is in points: "+1.09" beside a rate of 3.5 % would read as 1.09 %)
    points = POINTS if kind == "annex" or (res is not None and res.indicator.unit == "%") else ""
    return (f"较上期{'+' if diff > 0 else ''}{format_number(diff)}{points}"
            + (FELL_BACK if _fell_back(a, kind, key, diff) else ""))  # fmt: skip


# added to the change of a cumulative figure that fell: a clause, not a bracket, since the change
# itself is often written in brackets (滞后（较上期减少2万平方米，累计数比上期少，请核对）)
FELL_BACK = "，累计数比上期少，请核对"
POINTS = "个百分点"
UNDONE = "上期报已完成，本期报未完成，请核对"  # a milestone reported done last period and not done now


def unit_change(a: Assessment, indicator_id: str, respondent: str, value: float | None) -> float | None:
    """One unit's own change since the previous period, for an indicator each unit is assessed on
    alone (the snapshot keeps those figures); None when either period has no figure for it."""
    old = ((a.previous or {}).get("each") or {}).get(indicator_id, {}).get(respondent)
    if value is None or isinstance(old, bool) or not isinstance(old, (int, float)):
        return None
    return round(value - old, 2)  # as the figures themselves are shown


def unit_change_text(a: Assessment, indicator_id: str, respondent: str, value: float | None) -> str:
    """'较上期+3个百分点', '与上期持平', or '' (see ``unit_change``)."""
    diff = unit_change(a, indicator_id, respondent, value)
    if diff is None:
        return ""
    ind = a.indicators.get(indicator_id)
    points = POINTS if ind is not None and ind.indicator.unit == "%" else ""
    return "与上期持平" if diff == 0 else f"较上期{'+' if diff > 0 else ''}{format_number(diff)}{points}"


def _fell_back(a: Assessment, kind: str, key: str, diff: float) -> bool:
    """A figure counted since 1 January cannot fall between two periods of the same year: one of
    the two is wrong (or the scope changed), so the change is flagged wherever it is shown."""
    if kind != "indicators" or diff >= 0:
        return False
    ind = next((i for i in a.plan.indicators if i.id == key), None)
    return ind is not None and ind.accumulation is Accumulation.CUMULATIVE


def findings_by_respondent(a: Assessment) -> dict[str, tuple[int, int]]:
    """(errors, warnings) by the respondent each finding names, whichever of its files the finding
    is on (the W107 on a superseded copy is the unit's); under "" those of files no respondent could
    be told for (a Word document sent instead of a return …). Their sum is every finding."""
    out: dict[str, list[int]] = {}
    known = {r.id for r in a.plan.respondents}
    for f in a.findings:
        counts = out.setdefault(f.respondent if f.respondent in known else "", [0, 0])
        counts[0 if f.is_error else 1] += 1
    return {rid: (e, w) for rid, (e, w) in out.items()}


def unknown_files(a: Assessment) -> dict[str, str]:
    """The files of the findings ``findings_by_respondent`` counts under "" (no respondent named),
    each with the respondent its name suggests, "" for none: as collect guessed it for the file's
    ``FileOutcome`` (whose findings then name no respondent at all), which 汇总表's 收到文件 and
    the 问题清单 show as "区统计局（按文件名判断）"."""
    from .intake.identify import respondent_named_in

    known = {r.id for r in a.plan.respondents}
    files = sorted({f.file for f in a.findings if f.file and f.respondent not in known})
    return {file: respondent_named_in(a.plan, file) for file in files}
