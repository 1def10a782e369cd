"""Assessment → a plain dict of strings and lists: everything the report templates may use.

The templates in ``templates/`` see only this dict (documented in templates/README.md), so a
coordinator can reword the report without reading Python. Text that came from a workbook is
folded onto one line and may not start with the renderer's markup (``#`` or ``@``): it can
never become a heading, a table directive or template code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence

from ..assess import (
    FELL_BACK,
    UNCONFIRMED_EACH,
    Assessment,
    IndicatorResult,
    Status,
    TaskResult,
    change_text,
    invalid_reasons,
    name_list,
    num_text,
    previous_label,
    stated_target,
    unit_change,
)
from ..findings import Code
from ..plan.model import Accumulation, Combine, Comparison, chinese_date, format_number
from ..template.layout import ANNEX

# Towns and streets are many: past this many reports on one task, the report names those behind
# and summarises the rest (every text is in 汇总表.xlsx).
FULL_TEXT_LIMIT = 8
# ... and of the units behind, those the notice names plus this many are given in full: city-wide,
# thousands of units can be behind on one task
BEHIND_SHOWN_LIMIT = 10
# Distinct texts listed under 存在问题 / 下一步工作 (past it, those written by the most units; the
# rest are counted, and every text is in 汇总表's 任务进展明细)
TEXTS_LIMIT = 60
CN_INDEX = "一二三四五六七八九十"
_LINE_BREAK = re.compile(r"\s*\n\s*")


def safe_line(text: str, limit: int = 600) -> str:
    """Workbook text as one inert line: newlines folded, leading markup removed, length capped.
    A line break becomes "；" only where the line before it does not already end with punctuation
    (numbered progress, "一、垃圾分类：\n1. 开展宣传10场；\n2. …", never "：；" or "；；")."""
    text = (text or "").strip()
    if "\n" in text:  # (called for every report of every respondent: most texts are one line)
        text = _LINE_BREAK.sub(_fold, text)
    text = text.lstrip("#@ \t")
    return text if len(text) <= limit else text[:limit] + "……"


_ENDS_CLAUSE = tuple("。；：，、！？;:,!?")


def _fold(m: re.Match) -> str:
    return "" if m.string[max(0, m.start() - 1) : m.start()] in _ENDS_CLAUSE else "；"


def number_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{format_number(round(value, 4))}{unit}"


def percent_text(ratio: float | None, decimals: int = 1) -> str:
    return "—" if ratio is None else f"{ratio * 100:.{decimals}f}%"


class LazyList(Sequence):
    """A list built on first use (for a template, a list like any other)."""

    def __init__(self, build: Callable[[], list]):
        self._build: Callable[[], list] | None = build
        self._items: list = []

    def _get(self) -> list:
        if self._build is not None:
            self._items, self._build = self._build(), None
        return self._items

    def __getitem__(self, index):
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self):
        return iter(self._get())

    def __eq__(self, other) -> bool:
        return self._get() == (other._get() if isinstance(other, LazyList) else other)

    __hash__ = None  # type: ignore[assignment] - a list's equality, not hashable

    def __repr__(self) -> str:
        return repr(self._get())


def build_context(a: Assessment, report_date: dt.date | None = None, resubmit_by: dt.date | None = None) -> dict:
    """``resubmit_by``: the 重新报送期限 the 退回修改 copies give (by default, as they give it
    without ``--resubmit-by``: ``feedback.resubmit_deadline``)."""
    from ..collect import default_report_date
    from ..feedback import resubmit_deadline

    plan, period = a.plan, a.period
    names = {r.id: r.name for r in plan.respondents}
    date = report_date or default_report_date(period, [c.submission for c in a.submitted])
    task_counts = a.status_counts(a.tasks)
    ind_counts = a.status_counts([r for r in a.indicators.values()])
    assessed_units = [u for u in a.annex if u.unit.assessed]
    return {
        "report_title": report_title(a),
        "plan": {
            "title": plan.title,
            "notice_title": plan.notice_title,
            "issuer": plan.issuer,
            "year": plan.year,
            **_goal_with_notes(plan),
            "notice_date": chinese_date(plan.date),
        },
        "period": {
            "id": period.id,
            "label": period.label,
            "end": chinese_date(period.end),
            "deadline": chinese_date(period.deadline),
            "elapsed": f"{period.elapsed * 100:.0f}%",
            "year_end": period.is_year_end,
        },
        "date": chinese_date(date),
        "has_previous": a.previous is not None,
        "previous_label": previous_label(a),
        "counts": {
            "respondents": len(a.respondents),
            "submitted": len(a.submitted),
            "missing": len(a.missing),
            "with_errors": sum(c.state == "需退回修改" for c in a.respondents),
            "late": sum(c.on_time is False for c in a.respondents),
            "errors": sum(f.is_error for f in a.findings),
            "warnings": sum(not f.is_error for f in a.findings),
        },
        "missing_names": [c.respondent.name for c in a.missing],
        "correction_names": [c.respondent.name for c in a.respondents if c.state == "需退回修改"],
        "verify": _doubted_by_unit(a, names),
        "resubmit_by": chinese_date(resubmit_by or resubmit_deadline(period, date)),
        "headline": headline_rows(a, names),
        "headline_counts": _counts(Counter(h.result.status for h in a.headline)),
        "task_counts": _counts(task_counts),
        "indicator_counts": _counts(ind_counts),
        "sections": [_section(a, s, names) for s in plan.sections],
        "behind_tasks": [_task_brief(t) for t in a.tasks if t.status is Status.BEHIND],
        "missing_tasks": [_task_brief(t) for t in a.tasks if t.status is Status.MISSING],
        "behind_indicators": [_indicator(a, r, names) for r in a.indicators.values() if r.status is Status.BEHIND],
        # by task: not used by the default templates (they list texts once each, below), so read
        # only when an edited template asks for them
        "problems": LazyList(lambda: _texts(a, names, "problems")),
        "next_steps": LazyList(lambda: _texts(a, names, "next_steps")),
        **_most_raised("problem_texts", _texts_by_text(a, names, "problems")),
        **_most_raised("next_step_texts", _texts_by_text(a, names, "next_steps")),
        "annex": {
            "title": plan.annex.title,
            "note": plan.annex.note,
            "assessed": len(assessed_units),
            "counts": _counts(Counter(u.status for u in assessed_units)),
            "behind_names": [names[u.unit.respondent] for u in assessed_units if u.status is Status.BEHIND],
            "invalid": [why for u in assessed_units if u.status is Status.INVALID
                        and (why := _invalid_why(a, names, u.unit.respondent, "annex.", ANNEX))],  # fmt: skip
        },
        "findings_by_code": findings_by_code(a),
    }


def _goal_with_notes(plan) -> dict:
    """``goal``: the notice's goal, each word it footnotes marked ①, ② … in place of the notice's
    superscript number ('考核口径1' → '考核口径①': a bare '1' would read as part of the word);
    ``goal_notes``: those footnotes (``mark``, ``word``, ``text``), which the report gives as a 注
    under the paragraph: its lines have no room for a page-bottom footnote's superscript."""
    goal, notes = plan.goal, []
    for note in plan.footnotes:
        if not note.ref or note.ref not in goal:
            continue
        word, mark = _FOOTNOTE_NUMBER.sub("", note.ref) or note.ref, _circled(len(notes) + 1)
        goal = goal.replace(note.ref, word + mark, 1)
        text = note.text.strip()
        notes.append({"mark": mark, "word": word, "text": text if text.endswith(("。", "；", ".")) else text + "。"})
    return {"goal": goal, "goal_notes": notes}


_FOOTNOTE_NUMBER = re.compile(r"\d+$")


def _circled(n: int) -> str:
    """1 → ① … 20 → ⑳, then （21）."""
    return chr(0x245F + n) if 1 <= n <= 20 else f"（{n}）"


# The parts of the context the report's tables and file name need, each built on its own: the
# whole context reads every respondent's text and is slow for thousands of respondents.


def report_title(a: Assessment) -> str:
    return re.sub(r"安排$", "", a.plan.title) + f"推进情况（{a.period.label}）"


def headline_rows(a: Assessment, names: dict[str, str] | None = None) -> list[dict]:
    names = names if names is not None else {r.id: r.name for r in a.plan.respondents}
    return [_headline(a, n, h, names) for n, h in enumerate(a.headline, 1)]


def findings_by_code(a: Assessment) -> list[dict]:
    return [
        {"code": code.code, "title": code.title, "count": n, "severity": code.severity.label}
        for code, n in sorted(Counter(f.code for f in a.findings).items(), key=lambda kv: kv[0].code)
    ]


def _counts(counter) -> dict[str, int]:
    return {s.label: counter.get(s, 0) for s in Status}


def _headline(a: Assessment, n: int, h, names: dict[str, str]) -> dict:
    r = h.result
    return {
        "seq": n,
        "field": h.row.field,
        "label": h.row.label,
        "indicator": r.indicator.name,
        "summary": _summary(r, names),
        "by_unit": r.indicator.combine is Combine.EACH,
        "target": h.row.target_text,
        "departments": a.plan.departments_as_named(h.row.departments_text, h.row.departments),
        "value": _value_text(r, names),
        "status": r.status.label,
        "reason": _reason(r, names),
        "change": _change(a, r),
        "change_short": _change(a, r, short=True),
        # each unit's own change, for an indicator each unit is judged on (change_short counts them)
        "change_each": _each_change(a, r) if r.value is None and r.indicator.combine is Combine.EACH else "",
    }


def _value_text(r: IndicatorResult, names: dict[str, str]) -> str:
    ind = r.indicator
    if ind.is_milestone:
        return {True: "已完成", False: "未完成"}.get(r.done, "未报送")
    if r.value is None:  # no district figure: each unit's own, or nothing (the status says why)
        each = [x for x in r.reports if x.state == "ok"]
        if each and ind.combine is Combine.EACH:
            return "；".join(f"{names[x.respondent]}{number_text(x.value, ind.unit)}" for x in each)
        lead = r.doubted_lead  # (too large to be believed: said, as what to verify)
        return f"{_figure_text(ind, lead.value)}（待核实）" if lead is not None else ""
    return _figure_text(ind, r.value)


def _doubted_by_unit(a: Assessment, names: dict[str, str]) -> list[dict]:
    """Units whose figure was too large to be believed (W205, not judged): a warning, so no
    退回修改 copy asks them to correct it; the report asks them to verify it, naming the items."""
    items: dict[str, list[str]] = {}
    for r in a.indicators.values():
        for x in r.reports:
            if x.doubted:
                items.setdefault(x.respondent, []).append(r.indicator.name)
    order = {r.id: i for i, r in enumerate(a.plan.respondents)}
    return [{"name": names[rid], "indicators": items[rid]} for rid in sorted(items, key=lambda rid: order.get(rid, -1))]


def _doubted(r: IndicatorResult) -> bool:
    """A figure taken in but too large to be believed (``Figure.doubt``) makes ``r`` 数据有误."""
    return any(x.doubted for x in r.reports)


def _figure_text(ind, value: float) -> str:
    if ind.comparison.value == "reduction_at_least":
        return f"同比下降{format_number(round(value, 4))}%" if value >= 0 else f"同比上升{format_number(round(-value, 4))}%"
    return number_text(value, ind.unit)


def _indicator(a: Assessment, r: IndicatorResult, names: dict[str, str]) -> dict:
    ind = r.indicator
    return {
        "id": ind.id,
        "name": ind.name,
        "unit": ind.unit,
        "target": stated_target(ind),
        # (none said when nothing is due yet: a quarter of one 示范区 asks for 0)
        "sequential": number_text(r.sequential, ind.unit) if r.sequential and
        ind.accumulation.value == "cumulative" else "",
        "value": _value_text(r, names),
        "ratio": percent_text(r.ratio, r.ratio_places()),
        "level": not ind.is_milestone and ind.accumulation is not Accumulation.CUMULATIVE,
        "shortfall": _shortfall(r),
        "over": r.indicator.comparison is Comparison.AT_MOST,  # (its shortfall is an excess: 超出)
        "status": r.status.label,
        "reason": _reason(r, names),
        "milestone": ind.is_milestone,
        "change": _change(a, r),
        "change_short": _change(a, r, short=True),
        "change_each": _each_change(a, r) if r.value is None and ind.combine is Combine.EACH else "",
        # the lead's figure and the contributors' sum differ beyond tolerance, or the lead's figure
        # is too large to be believed: said where it is read
        "check": next((x for x in r.reasons if x.endswith("请核对")), "") if r.cross_check_flagged or _doubted(r) else "",
        "invalid": _invalid_why(a, names, ind.lead, f"ind.{ind.id}.") if r.status is Status.INVALID else "",
    }


def _invalid_why(a: Assessment, names: dict[str, str], respondent: str | None, field_prefix: str,
                 sheet: str = "") -> str:  # fmt: skip
    """Why a figure is 数据有误, in a clause ("区科经委填报“约6家”，格式不对，已退回修改"): the first
    error on ``respondent``'s fields starting ``field_prefix`` (or anywhere on ``sheet``: a label
    changed there is no field's); "" when there is none (a figure doubted for its size says so in
    ``check``)."""
    found = next((f for f in a.findings if f.respondent == respondent and f.is_error
                  and (f.field.startswith(field_prefix) or (sheet and f.sheet == sheet))), None)  # fmt: skip
    if found is None or respondent is None:
        return ""
    who = names.get(respondent, respondent)
    value = found.value.strip()
    # quoted only when it is words ("约6家"), at most 12 characters of them: a bare number or date
    # is what the reader stored (50% typed reads 0.5, 12 in a date cell 1900-01-12), not what was typed
    said = _QUOTABLE.search(value) is not None and found.code is Code.WRONG_TYPE
    typed = f"填报“{value[:12]}{'……' if len(value) > 12 else ''}”，" if said else "："
    return f"{who}{typed}{found.code.title}，已退回修改"


_QUOTABLE = re.compile(r"[^\d\s.,:/+\-%]")


def _reason(r: IndicatorResult, names: dict[str, str]) -> str:
    """The assessment's reason; where each unit is judged on its own, the units behind, those whose
    figure was not taken in and those that did not report are named (the assessment counts some).
    A milestone's contributors saying otherwise than its lead is left out: that is ``check``, said
    after the change in brackets, which belongs to the lead's verdict, not to the 请核对."""
    if r.indicator.is_milestone:
        return "；".join(x for x in r.reasons if x != r.cross_check)
    if r.indicator.combine is not Combine.EACH:
        return r.reason
    ok = [x for x in r.reports if x.state == "ok"]
    if not ok:
        return r.reason
    behind = [names[x.respondent] for x in ok if x.status is Status.BEHIND]
    parts = [f"{len(ok)}个单位报送，{len(ok) - len(behind)}个达到目标"]
    if behind:
        parts.append(f"{name_list(behind)}未达到目标")
    invalid = [x for x in r.reports if x.state == "invalid"]
    if invalid:  # (the indicator is 数据有误 because of them: rejected, or not to be believed)
        parts += invalid_reasons(invalid, names.__getitem__)
    if r.owed_by:
        # at year end, every unit that reported met the target but some did not report: 滞后
        unconfirmed = r.status is Status.BEHIND and not behind
        parts.append(f"{name_list([names[i] for i in r.owed_by])}未报送" + (UNCONFIRMED_EACH if unconfirmed else ""))
    return "，".join(parts)


_RATE_SUFFIX = re.compile(r"(同比)?下降率$")


def _summary(r: IndicatorResult, names: dict[str, str]) -> str:
    """The indicator and how it stands as one phrase: '单位增加值综合能耗同比下降4.32%，目标下降5.3%，
    尚差0.98个百分点' (the name's own '同比下降率' is not repeated before the reason's '同比下降')."""
    name, reason = r.indicator.name, _reason(r, names)
    if _doubted(r):  # the figure and why is what to check
        return f"{name}数据有误：{reason}"
    if r.status in (Status.INVALID, Status.MISSING) and not any(x.state == "ok" for x in r.reports):
        # the reason names cells and field keys: that is for the 问题清单, not for the report
        return name + ("数据有误，待核实" if r.status is Status.INVALID else "未报送")
    if r.value is not None and r.indicator.comparison is Comparison.REDUCTION_AT_LEAST:
        return _RATE_SUFFIX.sub("", name) + reason
    if r.value is not None and reason.startswith(("为", "完成")):
        return name + reason
    return f"{name}{'，' if reason else ''}{reason}"


def _shortfall(r: IndicatorResult) -> str:
    """How far a level or rate is below its target ('0.4个百分点'), or above a cap, for a figure
    that is behind."""
    ind = r.indicator
    if r.value is None or r.status is not Status.BEHIND or ind.target is None or ind.is_milestone:
        return ""
    floor = ind.target - (ind.tolerance or 0.0) if ind.comparison is Comparison.AROUND else ind.target
    if ind.comparison is Comparison.AT_MOST and ind.accumulation is Accumulation.CUMULATIVE and r.sequential:
        floor = r.sequential  # (a cap on an amount counted since January: the period's share of it)
    gap = r.value - floor if ind.comparison is Comparison.AT_MOST else floor - r.value
    return f"{num_text(gap)}{_unit_word(ind.unit)}" if gap > 0 else ""  # (never "0": see num_text)


def _change_words(ind) -> tuple[str, str]:
    """How a change is said: a decline rate (下降不少于) that grew is a wider fall, 降幅扩大, not
    "提高", which a reader takes for energy use going up (and 降低 for it going down)."""
    if ind.comparison is Comparison.REDUCTION_AT_LEAST:
        return "降幅扩大", "降幅收窄"
    return ("提高", "降低") if ind.unit == "%" else ("增加", "减少")


def _unit_word(unit: str) -> str:
    """A change or gap of a percentage is in percentage points."""
    return "个百分点" if unit == "%" else unit


def _change(a: Assessment, r: IndicatorResult, short: bool = False) -> str:
    """The change since the previous period with its unit: '较上期增加2.5万千瓦', '较上期提高0.78个
    百分点', '与上期持平', '上期：未报送'; ``short`` leaves out '较上期' (a table column says it),
    and where each unit is judged on its own counts the units that rose, fell or held ('2个单位提高，
    1个单位持平'): each unit's change would run to a dozen lines in a narrow column."""
    text = change_text(a, "indicators", r.indicator.id, r.value)
    if r.indicator.is_milestone:
        return _milestone_change(a, r, text)
    if r.value is None and r.indicator.combine is Combine.EACH:  # each unit's own figure instead
        if short:
            return _each_change_counts(a, r)
        # (written in brackets: a unit named with brackets, 区府办（机管局）, gets 〔〕 there)
        return _bracketed(_each_change(a, r)) or text
    if not text.startswith("较上期"):  # nothing to compare, the same, or the previous status
        return text
    entry = a.previous["indicators"][r.indicator.id]  # change_text found a figure for both periods
    diff = round(r.value - entry["value"], 2)  # as change_text rounds it
    unit = r.indicator.unit
    up, down = _change_words(r.indicator)
    words = f"{up if diff > 0 else down}{format_number(abs(diff))}{_unit_word(unit)}"
    was, now = round(entry["value"], 2), round(r.value, 2)
    if r.indicator.comparison is Comparison.REDUCTION_AT_LEAST and was * now < 0:
        # a fall that became a rise did not "narrow" by more than its own size
        words = (f"由下降{format_number(was)}%转为上升{format_number(-now)}%" if was > 0
                 else f"由上升{format_number(-was)}%转为下降{format_number(now)}%")  # fmt: skip
    if text.endswith(FELL_BACK):
        words += FELL_BACK
    return words if short else "较上期" + words


# a milestone's previous status in the words the earlier report said it in (judge_milestone)
_MILESTONE_BEFORE = {Status.ON_TRACK.label: "上期尚未完成", Status.BEHIND.label: "上期未完成，已过计划完成时间"}


def _milestone_change(a: Assessment, r: IndicatorResult, text: str) -> str:
    """A milestone's change as the earlier report put it ('已于2024年9月16日完成（上期尚未完成）'),
    not as a status ('上期：序时推进') the earlier report never wrote next to it; one that has
    just passed its deadline undone was not yet due ('（上期尚未到计划完成时间）')."""
    if not text.startswith("上期："):  # nothing changed, or reported done and now undone
        return text
    entry = a.previous["indicators"][r.indicator.id]  # (change_text found it)
    was = entry.get("status")
    if entry.get("done") is True or was not in _MILESTONE_BEFORE:
        return text
    if r.status is Status.BEHIND and was == Status.ON_TRACK.label:
        return "上期尚未到计划完成时间"
    return _MILESTONE_BEFORE[was]


_INNER_BRACKETS = str.maketrans("（）()", "〔〕〔〕")


def _bracketed(text: str) -> str:
    """``text`` to be written inside （）: its own brackets become 〔〕, never （…（…）…）."""
    return text.translate(_INNER_BRACKETS)


def _each_change(a: Assessment, r: IndicatorResult) -> str:
    """'区教育局较上期提高3个百分点，区商务委与上期持平' for an indicator each unit is judged on."""
    names = {x.id: x.name for x in a.plan.respondents}
    parts = []
    up, down = _change_words(r.indicator)
    for rep in r.reports:
        diff = unit_change(a, r.indicator.id, rep.respondent, rep.value)
        if diff is None:
            continue
        words = "与上期持平" if diff == 0 else (
            f"较上期{up if diff > 0 else down}{format_number(abs(diff))}{_unit_word(r.indicator.unit)}")
        parts.append(names.get(rep.respondent, rep.respondent) + words)
    return "，".join(parts)


def _each_change_counts(a: Assessment, r: IndicatorResult) -> str:
    """'2个单位提高，2个单位降低，1个单位持平' for an indicator each unit is judged on (the units
    with a figure in both periods; none: "")."""
    up, down = _change_words(r.indicator)
    diffs = [unit_change(a, r.indicator.id, rep.respondent, rep.value) for rep in r.reports]
    counts = ((sum(d is not None and d > 0 for d in diffs), up), (sum(d is not None and d < 0 for d in diffs), down),
              (sum(d == 0 for d in diffs), "持平"))  # fmt: skip
    return "，".join(f"{n}个单位{word}" for n, word in counts if n)


def _section(a: Assessment, section, names: dict[str, str]) -> dict:
    tasks = [a.task(n) for n in section.tasks]
    return {
        "number": section.number,
        "title": section.title,
        "counts": _counts(Counter(t.status for t in tasks)),
        "tasks": [_task(a, t, names) for t in tasks],
    }


def _task(a: Assessment, t: TaskResult, names: dict[str, str]) -> dict:
    task = t.task
    shown, rest = list(t.reports), []
    if len(shown) > FULL_TEXT_LIMIT:  # the departments the notice names in full, and the first
        # units behind; the rest as counts
        named = {r.id for d in task.departments if (r := a.plan.find_respondent(d)) is not None}
        shown, behind = [], 0
        for r in t.reports:
            if r.respondent in named or (r.status == "已滞后" and behind < BEHIND_SHOWN_LIMIT):
                behind += r.respondent not in named
                shown.append(r)
            else:
                rest.append(r)
    rest_counts = Counter(r.status or r.no_status for r in rest)
    owed = [names[i] for i in t.owed_by]
    return {
        "number": task.number,
        "title": task.title,
        "departments": a.plan.departments_as_named(task.departments_text, task.departments),
        "status": t.status.label,
        "reason": t.reason,
        "indicators": [_indicator(a, r, names) for r in t.indicators],
        "reports": [_report(r, names) for r in shown],
        "others": len(rest),
        "others_text": "，".join(f"{k}{v}个" for k, v in sorted(rest_counts.items())) if rest else "",
        "owed": owed,
        "owed_text": name_list(owed, 10),
        "change": change_text(a, "tasks", str(task.number), status=t.status),
        # the status the --previous period gave it ("" without one): a task 已完成 then and not now
        # is said in its paragraph
        "previous_status": _previous_task_status(a, task.number),
    }


def _previous_task_status(a: Assessment, number: int) -> str:
    status = ((a.previous or {}).get("tasks") or {}).get(str(number))
    return status if isinstance(status, str) else ""


def _report(r, names: dict[str, str]) -> dict:
    return {
        "id": r.respondent,
        "name": names[r.respondent],
        "status": r.status or (r.no_status if r.status_invalid else ""),  # (none chosen: the template says so)
        "progress": safe_line(r.progress),
        "problems": safe_line(r.problems, 300),
        "next": safe_line(r.next_steps, 300),
    }


def _task_brief(t: TaskResult) -> dict:
    return {"number": t.task.number, "title": t.task.title, "reason": t.reason, "status": t.status.label}


def _texts(a: Assessment, names: dict[str, str], attr: str) -> list[dict]:
    """What respondents wrote under 存在问题 / 下一步工作, attributed, one entry per task."""
    out = []
    for t in a.tasks:
        items = [(names[r.respondent], safe_line(getattr(r, attr), 200)) for r in t.reports if getattr(r, attr)]
        if not items:
            continue
        grouped: dict[str, list[str]] = {}
        for name, text in items:
            grouped.setdefault(text, []).append(name)
        out.append({
            "task": t.task.number,
            "title": t.task.title,
            "entries": [{"names": name_list(ns), "text": text} for text, ns in grouped.items()],
        })  # fmt: skip
    return out


def _texts_by_text(a: Assessment, names: dict[str, str], attr: str) -> list[dict]:
    """What respondents wrote under 存在问题 / 下一步工作, one entry per distinct text (in the order
    first written), naming its units once and the tasks it was written for."""
    units: dict[str, dict[str, None]] = {}  # text → its units, in order (dicts: sets that keep order)
    tasks: dict[str, dict[int, None]] = {}
    for t in a.tasks:
        for r in t.reports:
            text = safe_line(getattr(r, attr), 200) if getattr(r, attr) else ""
            if not text:
                continue
            units.setdefault(text, {})[names[r.respondent]] = None
            tasks.setdefault(text, {})[t.task.number] = None
    return [{"text": text, "names": name_list(list(who)), "count": len(who), "tasks": list(tasks[text])}
            for text, who in units.items()]  # fmt: skip


def _most_raised(key: str, texts: list[dict]) -> dict:
    """``{key: texts, key + "_more": 0}``, or past ``TEXTS_LIMIT`` the texts written by the most
    units (in their order; a tie goes to the first written) and how many more there are."""
    if len(texts) <= TEXTS_LIMIT:
        return {key: texts, key + "_more": 0}
    kept = sorted(sorted(range(len(texts)), key=lambda i: -texts[i]["count"])[:TEXTS_LIMIT])
    return {key: [texts[i] for i in kept], key + "_more": len(texts) - TEXTS_LIMIT}


def cn_index(i: int) -> str:
    """1 → 一 … 10 → 十 (section and list numbering)."""
    return CN_INDEX[i - 1] if 1 <= i <= len(CN_INDEX) else str(i)
