"""Which respondent and period a returned workbook is for — from its metadata sheet only.

The file name is never trusted: staff rename files, and one office may send another's.
"""

from __future__ import annotations

import dataclasses

from ..findings import Code, Finding
from ..plan.model import Plan
from ..template.layout import COVER, COVER_PERIOD_CELL, META, TEMPLATE_VERSION, indicator_label
from ..template.metadata import MetadataError, TemplateMap, parse_metadata
from .read import ReadError, Workbook

RESEND = "请使用本期下发的填报表重新填写后报送"


def identify(
    wb: Workbook, plan: Plan, period_id: str | None, file: str
) -> tuple[TemplateMap | None, list[Finding]]:
    """The workbook's map, or None with the reason as findings."""
    if not wb.has(META):
        if wb.has(COVER):
            return None, [Finding(Code.METADATA_ALTERED, "填报表中隐藏的标识工作表被删除，无法确定填报单位和各项位置",
                                  RESEND + "（不要删除或重建工作表）", file=file)]  # fmt: skip
        return None, [Finding(Code.NO_METADATA, "这不是本系统下发的填报表（缺少标识信息）",
                              RESEND + "；不要把内容复制到新建的表格中", file=file)]  # fmt: skip
    try:
        tmap = parse_metadata(wb.grid(META))
    except (MetadataError, ReadError) as exc:
        return None, [Finding(Code.METADATA_ALTERED, f"填报表标识信息已被改动：{exc}", RESEND,
                              file=file, sheet=META)]  # fmt: skip
    def where(key: str) -> dict[str, str]:  # the hidden sheet's cell that says it
        return {"file": file, "sheet": META, "cell": tmap.cells.get(key, "")}

    if tmap.plan_id != plan.id:
        return None, [Finding(Code.PLAN_MISMATCH,
                              f"该表属于计划“{tmap.plan_id}”，不是本次汇总（或检查）所用的计划“{plan.id}”",
                              f"如果这是按新计划下发的填报表，汇总或检查时请用 --plan 指定计划“{tmap.plan_id}”的文件；"
                              "否则请使用本期下发的填报表重新填写后报送",
                              value=tmap.plan_id, **where("plan_id"))]  # fmt: skip
    respondent = plan.find_respondent(tmap.respondent_id)
    if respondent is None or respondent.id != tmap.respondent_id:
        return None, [Finding(Code.UNKNOWN_RESPONDENT,
                              f"填报单位“{tmap.respondent_name}”（{tmap.respondent_id}）不在计划中",
                              "请与汇总部门联系，确认填报单位名单", value=tmap.respondent_id,
                              **where("respondent_id"))]  # fmt: skip
    findings: list[Finding] = []
    if period_id and tmap.period_id != period_id:
        return None, [period_mismatch(plan, file, tmap, period_id)]
    if tmap.template_version != TEMPLATE_VERSION:
        findings.append(Finding(Code.TEMPLATE_VERSION,
                                f"填报表模板版本为 {tmap.template_version}，当前为 {TEMPLATE_VERSION}；已按表内标识读取",
                                "下次请使用新下发的模板", respondent=respondent.id,
                                value=tmap.template_version, **where("template_version")))  # fmt: skip
    return clerk_labels(tmap, plan), findings


def period_mismatch(plan: Plan, file: str, tmap: TemplateMap, period_id: str) -> Finding:
    """E104, at the cover's 报送期 (what the office sees; the id is in the hidden map), saying
    what to do: the form of another period cannot be corrected into this one."""
    seen = next((p.label for p in plan.periods if p.id == tmap.period_id), tmap.period_id)
    want = next((p.label for p in plan.periods if p.id == period_id), period_id)
    return Finding(Code.PERIOD_MISMATCH,
                   f"这是“{seen}”的填报表，本期要报送的是“{want}”",
                   f"请使用{want}下发的填报表，按本期情况重新填写后报送；{seen}的表不能改作本期使用",
                   file=file, sheet=COVER, cell=COVER_PERIOD_CELL, respondent=tmap.respondent_id,
                   value=seen)  # fmt: skip


def clerk_labels(tmap: TemplateMap, plan: Plan) -> TemplateMap:
    """The map with its indicator fields labelled as the sheet shows them. Templates sent out before
    labels said so name them by the plan's id ("T05-1 新增光伏装机容量·填报值", "H1 …" reads like a
    cell), which the office sees nowhere: messages about such a return name the field as a new
    template does ("任务5 新增光伏装机容量·填报值"). The stored map, and its digest, are untouched."""
    fields, changed = list(tmap.fields), False
    for i, f in enumerate(fields):
        if f.key.startswith("ind.") and f.ref and f.label.startswith(f.ref + " ") and "·" in f.label:
            try:
                ind = plan.indicator(f.ref)
            except KeyError:
                continue  # (no longer in the plan: not read either)
            fields[i] = dataclasses.replace(f, label=f"{indicator_label(plan, ind)}·{f.label.rpartition('·')[2]}")
            changed = True
    return dataclasses.replace(tmap, fields=tuple(fields)) if changed else tmap
