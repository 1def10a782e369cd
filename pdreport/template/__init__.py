"""Collection templates: one workbook per respondent and period, carrying its own field map."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..outputs import atomic_write_bytes
from ..plan.model import Period, Plan, Respondent
from .distribution import render_distribution
from .layout import TEMPLATE_VERSION, Layout, build_layout
from .workbook import SHEET_PASSWORD, render_workbook

__all__ = [
    "DISTRIBUTION_LIST",
    "SHEET_PASSWORD",
    "TEMPLATE_VERSION",
    "TemplateFile",
    "build_layout",
    "generate_templates",
    "render_workbook",
    "select_respondents",
    "template_filename",
]


DISTRIBUTION_LIST = "分发清单.xlsx"


@dataclass(frozen=True)
class TemplateFile:
    respondent: Respondent
    path: Path
    layout: Layout


def template_filename(period: Period, respondent: Respondent) -> str:
    return f"{period.label}_{respondent.name}_碳达峰碳中和及节能工作进展填报表.xlsx"


def select_respondents(plan: Plan, names: list[str] | None) -> list[Respondent]:
    """All respondents, or those named (a unit's name/alias/id, or a group such as 各街道)."""
    if not names:
        return list(plan.respondents)
    wanted: list[str] = []
    for name in names:
        ids = plan.resolve(name)
        if not ids:
            known = [r.name for r in plan.respondents] + [g.name for g in plan.groups]
            hint = difflib.get_close_matches(name.strip(), known, n=3, cutoff=0.4)
            tip = f"，是否是：{'、'.join(hint)}？" if hint else "；可用 pdreport plan 查看单位名称"
            raise UsageError(f"计划中没有单位“{name}”{tip}")
        wanted += [i for i in ids if i not in wanted]
    return [r for r in plan.respondents if r.id in wanted]


def generate_templates(
    plan: Plan,
    period: Period,
    out_dir: Path,
    only: list[str] | None = None,
    generated_at: dt.datetime | None = None,
) -> list[TemplateFile]:
    """Write one workbook per respondent, and 分发清单.xlsx, into ``out_dir`` (atomically)."""
    stamp = generated_at or dt.datetime.now().replace(microsecond=0)
    out: list[TemplateFile] = []
    for respondent in select_respondents(plan, only):
        layout = build_layout(plan, respondent, period)
        path = Path(out_dir) / template_filename(period, respondent)
        atomic_write_bytes(path, render_workbook(layout, stamp))
        out.append(TemplateFile(respondent, path, layout))
    atomic_write_bytes(Path(out_dir) / DISTRIBUTION_LIST, render_distribution(out, period, plan.title))
    return out
