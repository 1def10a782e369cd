"""Which respondent and period a returned workbook is for — from its metadata sheet only.

The file name is never trusted: staff rename files, and one office may send another's.
"""

from __future__ import annotations

import dataclasses

from ..findings import Code, Finding
from ..plan.model import Plan
from ..template.layout import (
    COVER,
    COVER_PERIOD_CELL,
    META,
    TEMPLATE_VERSION,
    build_layout,
    indicator_label,
)
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
                              f"如果这些填报表确是按计划“{tmap.plan_id}”下发的，汇总或检查时请用 --plan 指定该计划的文件；"
                              "否则请单位使用本期下发的填报表重新填写后报送",
                              value=tmap.plan_id, **where("plan_id"))]  # fmt: skip
    respondent = plan.find_respondent(tmap.respondent_id)
    if respondent is None or respondent.id != tmap.respondent_id:
        return None, [Finding(Code.UNKNOWN_RESPONDENT,
                              f"填报单位“{tmap.respondent_name}”（{tmap.respondent_id}）不在计划中",
                              "该单位可能已撤并、改名，或表来自其他计划文件：汇总部门请与该单位确认其归属，需要时修改计划文件后"
                              "重新生成填报表；填报单位请与汇总部门联系", value=tmap.respondent_id,
                              **where("respondent_id"))]  # fmt: skip
    findings: list[Finding] = []
    if period_id and tmap.period_id != period_id:
        return None, [period_mismatch(plan, file, tmap, period_id)]
    if tmap.plan_version != plan.version:
        revised = plan_revision(plan, respondent, tmap, file)
        if revised.is_error:
            return None, [revised]
        findings.append(revised)
    if tmap.template_version != TEMPLATE_VERSION:
        findings.append(Finding(Code.TEMPLATE_VERSION,
                                f"填报表模板版本为 {tmap.template_version}，当前为 {TEMPLATE_VERSION}；已按表内标识读取",
                                "下次请使用新下发的模板", respondent=respondent.id,
                                value=tmap.template_version, **where("template_version")))  # fmt: skip
    return clerk_labels(tmap, plan), findings


def plan_revision(plan: Plan, respondent, tmap: TemplateMap, file: str) -> Finding:
    """A return made from another version of the plan (the plan was revised after the templates
    went out): its cells are placed and named by that version, so they are read only if this
    respondent's template is the same in both — the same input cells for the same indicators and
    tasks, in the same units, under the same locked names (W112); else nothing is read (E111),
    since a renumbered task or a changed unit would put every figure under the wrong item."""
    # (about the whole file: the version is on no sheet the office or the coordinator sees)
    where = {"file": file, "respondent": respondent.id, "value": tmap.plan_version}
    versions = f"该表按计划第 {tmap.plan_version} 版生成，本次汇总用的是第 {plan.version} 版"
    period = next((p for p in plan.periods if p.id == tmap.period_id), None)
    differences = (_template_differences(tmap, build_layout(plan, respondent, period)) if period is not None
                   else [f"报送期“{tmap.period_id}”在新版中没有"])  # fmt: skip
    if not differences:
        return Finding(Code.PLAN_VERSION, f"{versions}；本单位要填报的项目、位置和计量单位两版相同，已采用",
                       "下次请使用按新版计划下发的填报表；评估按新版的年度目标", **where)  # fmt: skip
    shown = "；".join(differences[:3]) + (f"等 {len(differences)} 处" if len(differences) > 3 else "")
    return Finding(Code.PLAN_REVISED,
                   f"{versions}；两版中本单位要填报的内容不同（{shown}），表中数据无法准确对应到新版的任务和指标，未采用",
                   f"请使用按第 {plan.version} 版计划下发的填报表重新填写后报送；如果新版填报表尚未下发，"
                   f"汇总时请用 --plan 指定第 {tmap.plan_version} 版的计划文件", **where)  # fmt: skip


def _template_differences(tmap: TemplateMap, layout) -> list[str]:
    """How the template the return was made from differs from this plan's, in the office's words:
    locked names changed, items added or gone, units changed, cells moved."""
    out = []
    now_labels = {(lb.sheet, lb.cell): lb.text for lb in layout.labels}
    then_labels = {(lb.sheet, lb.cell): lb.text for lb in tmap.labels}
    for key in sorted(now_labels.keys() | then_labels.keys(), key=lambda k: (k[0], len(k[1]), k[1])):
        then, now = then_labels.get(key, ""), now_labels.get(key, "")
        if then != now:
            sheet, cell = key
            out.append(f"“{sheet}”{cell}：“{_short(then)}”→“{_short(now)}”" if then and now
                       else f"“{sheet}”{cell}：新版{'没有' if then else '新增'}“{_short(then or now)}”")  # fmt: skip
    now_fields = {f.key: f for f in layout.fields}
    then_fields = {f.key: f for f in tmap.fields}
    for key in sorted(now_fields.keys() | then_fields.keys()):
        then, now = then_fields.get(key), now_fields.get(key)
        name = _short((then or now).label.split("·")[0])
        if then is None or now is None:
            out.append(f"新版{'新增' if then is None else '没有'}“{name}”")
        elif (then.sheet, then.cell, then.kind) != (now.sheet, now.cell, now.kind):
            out.append(f"“{name}”的填报格由{then.cell}移到{now.cell}")
        elif then.unit and now.unit and then.unit != now.unit:
            out.append(f"“{name}”的计量单位由“{then.unit}”改为“{now.unit}”")
    return list(dict.fromkeys(out))


def _short(text: str, limit: int = 24) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def respondent_named_in(plan: Plan, file: str) -> str:
    """The respondent named in the file's own name, else in its folders' ("区金融局_加密.xlsx" →
    区金融局): the one whose name (or alias) there is the longest, if exactly one respondent has a
    name that long; else ""."""
    name = _own_name(file)
    return _longest_name_in(plan, name) or (_longest_name_in(plan, file) if name != file else "")


def _own_name(file: str) -> str:
    """A file's name without its folders (a relative path as collect gives it)."""
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def _longest_name_in(plan: Plan, file: str) -> str:
    hits = plan.respondents_named_in(file)
    if not hits:
        return ""
    best = hits[max(hits)]
    return next(iter(best)) if len(best) == 1 else ""


def other_office_named(plan: Plan, file: str, respondent_id: str) -> str:
    """The respondent the file's own name names when the workbook is another's ("康桥镇_填报表.xlsx"
    holding 合庆镇's template: 康桥镇 filled in the wrong office's form), else "". Only the name
    itself (folders are the coordinator's filing), and never when the workbook's own office is
    named there too ("合庆镇（康桥镇转来）.xlsx")."""
    name = _own_name(file)
    own = plan.find_respondent(respondent_id)
    if own is None or any(n in name for n in (own.name, *own.aliases) if len(n) >= 2):
        return ""
    named = _longest_name_in(plan, name)
    return named if named != respondent_id else ""
