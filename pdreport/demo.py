"""Deterministic, plausible filled returns: the bundled sample_workbooks/ and test fixtures.

Every sample is the real template for its respondent, filled with openpyxl as an
office would fill it. Figures are drawn from a seeded generator so that some offices
are ahead, some behind, and contributors' figures roughly add up to the lead's.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from typing import Any

import openpyxl

from .periods import sequential_target
from .plan.model import Accumulation, Period, Plan
from .template import build_layout, render_workbook
from .template.layout import Layout

STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)
FILLERS = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷", "徐磊", "孙丽")
REVIEWERS = ("王建国", "李明华", "陈志强", "张慧敏", "刘德胜", "周文斌")
PROGRESS = (
    "围绕“{title}”，本单位已明确责任科室和时间节点，{period}累计召开推进会{n}次，形成工作台账并按月跟踪。",
    "对照通知要求，{period}完成“{title}”相关工作方案细化，开展现场检查和督导{n}次，总体按计划推进。",
    "“{title}”已纳入本单位年度重点工作，{period}组织专题培训和对接{n}场，重点项目正在推进实施。",
)
PROBLEMS = ("部分项目前期手续办理周期较长。", "涉及多部门协同，推进节奏需进一步统筹。",
            "部分企业积极性不高，资金压力较大。", "")  # fmt: skip
NEXT = ("下一步将加强调度，确保年底前完成全年目标。", "下一步将聚焦重点项目，加快形成实物工作量。",
        "下一步将完善工作机制，按季度开展督查通报。")  # fmt: skip


@dataclass
class Filled:
    """The values one office typed, by field key (what the tests compare outputs against)."""

    respondent: str
    layout: Layout
    values: dict[str, Any] = field(default_factory=dict)


def demo_values(plan: Plan, period: Period, seed: int = 2024) -> dict[str, Filled]:
    """Plausible values for every respondent's template, keyed by respondent id."""
    rng = random.Random(f"{seed}-{period.id}")
    out: dict[str, Filled] = {}
    pace = {r.id: rng.choice((0.55, 0.8, 0.95, 1.05, 1.15, 1.3)) for r in plan.respondents}
    contributions: dict[str, float] = {}
    for r in plan.respondents:
        lay = build_layout(plan, r, period)
        filled = Filled(r.id, lay)
        v = filled.values
        v["header.filler"] = rng.choice(FILLERS)
        v["header.phone"] = f"021-5{rng.randrange(1000000, 9999999)}"
        v["header.date"] = dt.datetime.combine(period.deadline - dt.timedelta(days=rng.randrange(1, 10)), dt.time())
        v["header.reviewer"] = rng.choice(REVIEWERS)
        for row in lay.indicators:
            ind = row.indicator
            if row.role == "contributor":
                share = ind.target * period.elapsed / max(len(ind.contributors), 1) * 2
                value = round(share * rng.uniform(0.2, 1.6), 2)
                contributions[ind.id] = contributions.get(ind.id, 0.0) + value
            else:
                value = _figure(ind, period, pace[r.id], rng)
            v[f"ind.{ind.id}.value"] = value
            if pace[r.id] < 0.9 and row.role != "contributor":
                v[f"ind.{ind.id}.note"] = "受项目审批进度影响，完成进度略慢于序时，下半年将加快推进。"
        for m in lay.milestones:
            due = m.indicator.deadline or period.end
            done = due <= period.end or rng.random() < period.elapsed * pace[r.id]
            v[f"ind.{m.indicator.id}.done"] = "是" if done else "否"
            if done:
                v[f"ind.{m.indicator.id}.date"] = dt.datetime.combine(
                    period.end - dt.timedelta(days=rng.randrange(5, 80)), dt.time())  # fmt: skip
            else:
                v[f"ind.{m.indicator.id}.note"] = "正在推进，预计按期完成。"
        if lay.has_annex:
            energy = round(rng.uniform(2e4, 4e5), 1)
            output = round(energy * rng.uniform(8, 30), 1)
            target = lay.annex_target if lay.annex_target is not None else 2.0
            rate = target * pace[r.id] * rng.uniform(0.8, 1.2) / 100
            growth = rng.uniform(1.0, 1.08)
            v["annex.energy_base"] = energy
            v["annex.output_base"] = output
            v["annex.output_current"] = round(output * growth, 1)
            v["annex.energy_current"] = round(energy * growth * (1 - rate), 1)
        for t in lay.tasks:
            task = t.task
            behind = pace[r.id] < 0.6
            status = "已滞后" if behind else rng.choice(("推进中", "推进中", "推进中", "已完成"))
            unfinished = any(plan.indicator(i).target or v.get(f"ind.{i}.done") == "否"
                             for i in task.indicators)  # fmt: skip
            if status == "已完成" and unfinished:
                status = "推进中"
            v[f"task.{task.number}.status"] = status
            v[f"task.{task.number}.progress"] = rng.choice(PROGRESS).format(
                title=task.title, period=period.label, n=rng.randrange(2, 9))  # fmt: skip
            problem = rng.choice(PROBLEMS)
            if problem or behind:
                v[f"task.{task.number}.problems"] = problem or "受外部条件影响，进度滞后于计划。"
            v[f"task.{task.number}.next"] = rng.choice(NEXT)
        out[r.id] = filled
    for filled in out.values():  # the lead's district figure ≈ the sum of contributors'
        for row in filled.layout.indicators:
            ind = row.indicator
            if row.role == "lead" and ind.id in contributions:
                filled.values[f"ind.{ind.id}.value"] = round(contributions[ind.id] * rng.uniform(1.0, 1.04), 2)
    return out


def _figure(ind, period: Period, pace: float, rng: random.Random) -> float:
    if ind.accumulation is Accumulation.CUMULATIVE:
        value = (sequential_target(ind, period) or 0) * pace * rng.uniform(0.9, 1.1)
        return round(value, 2) if ind.target < 50 else float(round(value))
    if ind.accumulation is Accumulation.RATE:
        return round(ind.target * pace * rng.uniform(0.85, 1.1), 2)
    value = ind.target * min(pace, 1.08) * rng.uniform(0.97, 1.02)
    if ind.unit == "%":
        value = min(value, 99.5)
    return round(value, 1)


def fill_template(filled: Filled, generated_at: dt.datetime = STAMP, values: dict | None = None) -> bytes:
    """The respondent's real template with ``values`` (default: its demo values) typed in."""
    blank = render_workbook(filled.layout, generated_at)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    for f in filled.layout.fields:
        value = (values if values is not None else filled.values).get(f.key)
        if value is not None:
            cell = wb[f.sheet][f.cell]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # typed text stays text, even if it starts with "="
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
