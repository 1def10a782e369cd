"""Plan → plain dict (for ``--format json``) and → the notice's outline as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any

from .model import Plan, RespondentKind, chinese_date, format_number


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The full model with stable keys (dataclass field order), JSON-ready."""
    data = _plain(plan)
    data["counts"] = plan_counts(plan)
    return data


def plan_counts(plan: Plan) -> dict[str, int]:
    kinds = {k.value: sum(r.kind is k for r in plan.respondents) for k in RespondentKind}
    return {
        "headline": len(plan.headline),
        "sections": len(plan.sections),
        "tasks": len(plan.tasks),
        "indicators": sum(not i.is_milestone for i in plan.indicators),
        "milestones": sum(i.is_milestone for i in plan.indicators),
        "annex_units": len(plan.annex.units),
        "annex_not_assessed": sum(not u.assessed for u in plan.annex.units),
        "respondents": len(plan.respondents),
        **{f"respondents_{k}": v for k, v in kinds.items()},
        "periods": len(plan.periods),
    }


def plan_outline(plan: Plan) -> str:
    """The notice's outline with counts, for a quick read in the terminal."""
    c = plan_counts(plan)
    name = {r.id: r.name for r in plan.respondents}
    out = [
        f"《{plan.title}》  计划编号 {plan.id}  版本 {plan.version}",
        f"{plan.issuer}  {chinese_date(plan.date)}",
        "",
        f"总体目标 {c['headline']} 项｜重点任务 {c['tasks']} 项（{c['sections']} 个板块）｜"
        f"数值指标 {c['indicators']} 项｜里程碑 {c['milestones']} 项｜"
        f"附件单位 {c['annex_units']} 个（不考核 {c['annex_not_assessed']} 个）",
        f"填报单位 {c['respondents']} 个：委办局 {c['respondents_bureau']}，"
        f"管理局（管委会） {c['respondents_authority']}，镇 {c['respondents_town']}，"
        f"街道 {c['respondents_street']}",
        "",
        f"一、{plan.headline_title}",
    ]
    for h in plan.headline:
        out.append(f"  {h.id} {h.label}：{h.target_text}（{h.departments_text}）")
    out += ["", "二、重点工作安排"]
    for s in plan.sections:
        out.append(f"  （{s.number}）{s.title}")
        for n in s.tasks:
            t = plan.task(n)
            out.append(f"    {t.number}. {t.title}（{t.departments_text}）")
            for iid in t.indicators:
                i = plan.indicator(iid)
                who = name.get(i.lead, "") if i.lead else "、".join(name[r] for r in i.reporters)
                out.append(f"       · {i.id} {i.name}：{i.target_text()}  [{who}]")
            for aid in t.aliases:
                a = next(a for a in plan.aliases if a.id == aid)
                out.append(f"       · {a.id} {a.name}：同 {a.same_as}")
    out += ["", f"附件：{plan.annex.title}（{plan.annex.indicator_name}，{plan.annex.unit}）"]
    for u in plan.annex.units:
        extra = f"  含{'、'.join(u.includes)}" if u.includes else ""
        out.append(f"  {u.seq:>2} {name[u.respondent]}  {format_number(u.target)}{extra}")
    out += ["", "报送期："]
    for p in plan.periods:
        out.append(f"  {p.id} {p.label}  截止 {p.deadline:%Y-%m-%d}  序时进度 {p.elapsed:.0%}")
    return "\n".join(out)
