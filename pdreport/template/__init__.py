"""Collection templates: one workbook per respondent and period, carrying its own field map."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..outputs import OutputStage
from ..plan.model import Period, Plan, Respondent
from ..workers import Ahead
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
    overwrite: bool = False,
) -> list[TemplateFile]:
    """Write one workbook per respondent, and 分发清单.xlsx, into ``out_dir``: staged, and moved
    into place together (``outputs.OutputStage``: all of them or, OutputError, none).

    A returned form usually keeps the name it was sent under, so a file of that name already in
    ``out_dir`` may be a unit's filled return: it is replaced only with ``overwrite``."""
    stamp = generated_at or dt.datetime.now().replace(microsecond=0)
    out: list[TemplateFile] = []
    respondents = select_respondents(plan, only)
    if not overwrite:
        refuse_to_replace([Path(out_dir) / template_filename(period, r) for r in respondents])
    # xlsxwriter is pure Python: many workbooks are rendered ahead in one worker process per core
    rendered = Ahead.start(lambda i: render_workbook(build_layout(plan, respondents[i], period), stamp),
                           len(respondents), PROCESS_MIN_TEMPLATES, PROCESS_CHUNK)  # fmt: skip
    with OutputStage() as stage:
        try:
            for i, respondent in enumerate(respondents):
                layout = build_layout(plan, respondent, period)
                path = Path(out_dir) / template_filename(period, respondent)
                data = rendered.get(i) if rendered is not None else None
                if data is None:  # (not rendered ahead, or failed there: rendered here, raising as it does)
                    data = render_workbook(layout, stamp)
                stage.write(path, data)
                out.append(TemplateFile(respondent, path, layout))
        finally:
            if rendered is not None:
                rendered.close()
        stage.write(Path(out_dir) / DISTRIBUTION_LIST, render_distribution(out, period, plan.title))
    return out


def refuse_to_replace(paths: list[Path]) -> None:
    """UsageError naming the files in ``paths`` that exist (a run must not silently replace them)."""
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        names = "、".join(p.name for p in existing[:3]) + ("等" if len(existing) > 3 else "")
        raise UsageError(f"输出目录 {existing[0].parent} 中已有同名文件 {len(existing)} 个（{names}），"
                         "可能是已收回的填报表，未作任何改动。请换一个输出目录；"
                         "确认要覆盖时加 --overwrite 重新运行。")  # fmt: skip


PROCESS_MIN_TEMPLATES = 32  # from this many respondents the workbooks are rendered in worker processes
PROCESS_CHUNK = 8  # respondents per task
