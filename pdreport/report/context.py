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

from ..assess import Assessment, IndicatorResult, Status, TaskResult, change_text
from ..plan.model import chinese_date, format_number

# Towns and streets are many: past this many reports on one task, the report names those behind
# and summarises the rest (every text is in 汇总表.xlsx).
FULL_TEXT_LIMIT = 8
CN_INDEX = "一二三四五六七八九十"
_LINE_BREAK = re.compile(r"\s*\n\s*")


def safe_line(text: str, limit: int = 600) -> str:
    """Workbook text as one inert line: newlines folded, leading markup removed, length capped."""
    text = (text or "").strip()
    if "\n" in text:  # (called for every report of every respondent: most texts are one line)
        text = _LINE_BREAK.sub("；", text)
    text = text.lstrip("#@ \t")
    return text if len(text) <= limit else text[:limit] + "……"


def number_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{format_number(round(value, 4))}{unit}"


def percent_text(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def build_context(a: Assessment, report_date: dt.date | None = None) -> dict:
    plan, period = a.plan, a.period
    names = {r.id: r.name for r in plan.respondents}
    date = report_date or period.deadline
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
            "goal": plan.goal,
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
        "previous_label": (a.previous or {}).get("period_label", ""),
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
        "headline": headline_rows(a, names),
        "headline_counts": _counts(Counter(h.result.status for h in a.headline)),
        "task_counts": _counts(task_counts),
        "indicator_counts": _counts(ind_counts),
        "sections": [_section(a, s, names) for s in plan.sections],
        "behind_tasks": [_task_brief(t) for t in a.tasks if t.status is Status.BEHIND],
        "missing_tasks": [_task_brief(t) for t in a.tasks if t.status is Status.MISSING],
        "behind_indicators": [_indicator(a, r, names) for r in a.indicators.values() if r.status is Status.BEHIND],
        "problems": _texts(a, names, "problems"),
        "next_steps": _texts(a, names, "next_steps"),
        "annex": {
            "title": plan.annex.title,
            "note": plan.annex.note,
            "assessed": len(assessed_units),
            "counts": _counts(Counter(u.status for u in assessed_units)),
            "behind_names": [names[u.unit.respondent] for u in assessed_units if u.status is Status.BEHIND],
        },
        "findings_by_code": findings_by_code(a),
    }


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
        "target": h.row.target_text,
        "departments": h.row.departments_text,
        "value": _value_text(r, names),
        "status": r.status.label,
        "reason": r.reason,
        "change": change_text(a, "indicators", r.indicator.id, r.value),
    }


def _value_text(r: IndicatorResult, names: dict[str, str]) -> str:
    ind = r.indicator
    if ind.is_milestone:
        return {True: "已完成", False: "未完成"}.get(r.done, "未报送")
    if r.value is None:
        each = [x for x in r.reports if x.state == "ok"]
        if each and ind.combine.value == "each":
            return "；".join(f"{names[x.respondent]}{number_text(x.value, ind.unit)}" for x in each)
        return r.status.label
    if ind.comparison.value == "reduction_at_least":
        return f"同比下降{format_number(round(r.value, 4))}%" if r.value >= 0 else f"同比上升{format_number(round(-r.value, 4))}%"
    return number_text(r.value, ind.unit)


def _indicator(a: Assessment, r: IndicatorResult, names: dict[str, str]) -> dict:
    ind = r.indicator
    return {
        "id": ind.id,
        "name": ind.name,
        "unit": ind.unit,
        "target": ind.target_text(),
        "sequential": number_text(r.sequential, ind.unit) if r.sequential is not None and
        ind.accumulation.value == "cumulative" else "",
        "value": _value_text(r, names),
        "ratio": percent_text(r.ratio),
        "status": r.status.label,
        "reason": r.reason,
        "milestone": ind.is_milestone,
        "change": change_text(a, "indicators", ind.id, r.value),
    }


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
    reports = [_report(r, names) for r in t.reports]
    many = len(reports) > FULL_TEXT_LIMIT
    shown, rest = reports, []
    if many:  # departments the notice names, and anyone behind, in full; the rest as counts
        named = {r.id for d in task.departments if (r := a.plan.find_respondent(d)) is not None}
        shown = [r for r in reports if r["id"] in named or r["status"] == "已滞后"]
        kept = {id(r) for r in shown}  # reports are one per respondent: identity is equality
        rest = [r for r in reports if id(r) not in kept]
    rest_counts = Counter(r["status"] or "未选状态" for r in rest)
    owed = [names[i] for i in t.owed_by]
    return {
        "number": task.number,
        "title": task.title,
        "departments": task.departments_text,
        "status": t.status.label,
        "reason": t.reason,
        "indicators": [_indicator(a, r, names) for r in t.indicators],
        "reports": shown,
        "others": len(rest),
        "others_text": "，".join(f"{k}{v}个" for k, v in sorted(rest_counts.items())) if rest else "",
        "owed": owed,
        "owed_text": "、".join(owed[:10]) + (f"等{len(owed)}个单位" if len(owed) > 10 else ""),
        "change": change_text(a, "tasks", str(task.number), status=t.status),
    }


def _report(r, names: dict[str, str]) -> dict:
    return {
        "id": r.respondent,
        "name": names[r.respondent],
        "status": r.status,
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
            "entries": [{"names": "、".join(ns[:5]) + (f"等{len(ns)}个单位" if len(ns) > 5 else ""), "text": text}
                      for text, ns in grouped.items()],
        })  # fmt: skip
    return out


def cn_index(i: int) -> str:
    """1 → 一 … 10 → 十 (section and list numbering)."""
    return CN_INDEX[i - 1] if 1 <= i <= len(CN_INDEX) else str(i)
