"""Deterministic, plausible filled returns: the bundled sample_workbooks/ and test fixtures.

Every sample is the real template for its respondent, filled with openpyxl as an
office would fill it. Figures are drawn from a seeded generator so that some offices
are ahead, some behind, and contributors' figures roughly add up to the lead's.

The periods of one year fit together: the half-year's returns are drawn as they are (the bundled
sample_workbooks/ are the 2024H1 demo), and each other period follows on from its neighbour
towards it (``_follow``): figures counted since 1 January never fall from one period to the next,
a milestone once done stays done (on the same date), and the annex's energy and output figures
grow with the year.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from typing import Any

import openpyxl

from .periods import sequential_target
from .plan.model import POWER_IN_KW, Accumulation, Period, Plan, format_number
from .template import build_layout, render_workbook
from .template.layout import ANNEX, Layout

STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)  # when the bundled samples' templates were made (2024H1)


def demo_stamp(period: Period) -> dt.datetime:
    """When a demo period's templates were made: ten days before its end, 9:00 (STAMP for 2024H1)."""
    return dt.datetime.combine(period.end - dt.timedelta(days=10), dt.time(9))

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
NEXT_YEAR_END = {  # the same choices at year end, in year-end words
    NEXT[0]: "下一步将对未完成事项明确措施和时限，纳入明年工作安排。",
    NEXT[1]: "下一步将总结全年工作，聚焦重点项目谋划明年工作。",
    NEXT[2]: NEXT[2],
}


@dataclass
class Filled:
    """The values one office typed, by field key (what the tests compare outputs against)."""

    respondent: str
    layout: Layout
    values: dict[str, Any] = field(default_factory=dict)


def demo_values(plan: Plan, period: Period, seed: int = 2024) -> dict[str, Filled]:
    """Plausible values for every respondent's template, keyed by respondent id; the periods of
    the plan are consistent with each other (see the module's description)."""
    periods = sorted(plan.periods, key=lambda p: (p.end, p.id))
    if period not in periods:
        return _drawn(plan, period, seed)
    at = periods.index(period)
    anchor = next((i for i, p in enumerate(periods) if p.elapsed == 0.5), 0)
    step = 1 if at > anchor else -1
    values = _drawn(plan, periods[anchor], seed)
    for i in range(anchor + step, at + step, step):
        values = _follow(plan, periods[i], _drawn(plan, periods[i], seed), values, later=step > 0)
    return values


def _follow(plan: Plan, period: Period, values: dict[str, Filled], near: dict[str, Filled],
            later: bool) -> dict[str, Filled]:  # fmt: skip
    """``values`` drawn for ``period`` made consistent with ``near``, the values of the period
    just before it (``later``) or just after it: cumulative figures no lower (no higher) than
    there, a lead's figure moved with its contributors' sum as drawn; a milestone done before is
    done on the same date (done here only if done there by this period's end); the annex figures
    scaled, all four alike, so that the rate stays as drawn."""
    pick = max if later else min
    contributed = {row.indicator.id for f in values.values() for row in f.layout.indicators
                   if row.role == "contributor"}  # fmt: skip
    drawn_sums: dict[str, float] = {}  # indicator id → the contributors' sum as drawn
    sums: dict[str, float] = {}  # … and as adjusted
    for rid, filled in values.items():
        v, o = filled.values, near[rid].values
        for row in filled.layout.indicators:
            ind, key = row.indicator, f"ind.{row.indicator.id}.value"
            if ind.accumulation is not Accumulation.CUMULATIVE or key not in v or key not in o:
                continue
            if row.role == "contributor":
                drawn_sums[ind.id] = drawn_sums.get(ind.id, 0.0) + v[key]
                v[key] = pick(v[key], o[key])
                sums[ind.id] = sums.get(ind.id, 0.0) + v[key]
            elif not (row.role == "lead" and ind.id in contributed):
                v[key] = pick(v[key], o[key])
        for m in filled.layout.milestones:
            done, date, note = (f"ind.{m.indicator.id}.{k}" for k in ("done", "date", "note"))
            on = o.get(date) if o.get(done) == "是" else None
            if on is not None and (later or on.date() <= period.end):
                v[done], v[date] = "是", on
                v.pop(note, None)
            elif not later and v.get(done) == "是":
                v[done] = "否"
                v.pop(date, None)
                v[note] = "正在推进，预计按期完成。"
        keys = ("annex.energy_base", "annex.output_base", "annex.energy_current", "annex.output_current")
        if all(v.get(k) and o.get(k) for k in keys):
            scale = pick(o[k] / v[k] for k in keys)
            if (scale > 1) if later else (scale < 1):
                for k in keys:
                    v[k] = round(v[k] * scale, 1)
        for t in filled.layout.tasks:  # a milestone not done (any more): nor is the task
            key = f"task.{t.task.number}.status"
            if v.get(key) == "已完成" and any(v.get(f"ind.{i}.done") == "否" for i in t.task.indicators):
                v[key] = "推进中"
    for filled in values.values():  # the leads follow their contributors' sum, as when drawn
        v, o = filled.values, near[filled.respondent].values
        for row in filled.layout.indicators:
            ind, key = row.indicator, f"ind.{row.indicator.id}.value"
            if row.role == "lead" and drawn_sums.get(ind.id) and key in v and key in o:
                value = sums[ind.id] * v[key] / drawn_sums[ind.id]
                v[key] = pick(float(round(value)) if ind.counted else round(value, 2), o[key])
    return values


def _drawn(plan: Plan, period: Period, seed: int) -> dict[str, Filled]:
    """The period's values as drawn, on their own."""
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
                value = round(share * rng.uniform(0.2, 1.6), 0 if ind.counted else 2)
                contributions[ind.id] = contributions.get(ind.id, 0.0) + value
            else:
                value = _figure(ind, period, pace[r.id], rng)
            v[f"ind.{ind.id}.value"] = value
            if pace[r.id] < 0.9 and row.role != "contributor":
                v[f"ind.{ind.id}.note"] = _late_note(period)
        for m in lay.milestones:
            due = m.indicator.deadline or period.end
            done = due <= period.end or rng.random() < period.elapsed * pace[r.id]
            v[f"ind.{m.indicator.id}.done"] = "是" if done else "否"
            if done:
                v[f"ind.{m.indicator.id}.date"] = dt.datetime.combine(
                    period.end - dt.timedelta(days=rng.randrange(5, 80)), dt.time())  # fmt: skip
            else:
                v[f"ind.{m.indicator.id}.note"] = "尚未完成，将抓紧推进。" if period.is_year_end else "正在推进，预计按期完成。"
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
            step = rng.choice(NEXT)
            v[f"task.{task.number}.next"] = NEXT_YEAR_END[step] if period.is_year_end else step
        out[r.id] = filled
    for filled in out.values():  # the lead's district figure ≈ the sum of contributors'
        for row in filled.layout.indicators:
            ind = row.indicator
            if row.role == "lead" and ind.id in contributions:
                value = contributions[ind.id] * rng.uniform(1.0, 1.04)
                filled.values[f"ind.{ind.id}.value"] = float(round(value)) if ind.counted else round(value, 2)
    return out


def _late_note(period: Period) -> str:
    """What an office behind writes under a figure (the half-year's words as in the samples)."""
    if period.is_year_end:
        return "受项目审批进度影响，全年完成情况低于预期，明年将加快推进。"
    if period.elapsed > 0.5:
        return "受项目审批进度影响，完成进度略慢于序时，四季度将加快推进。"
    return "受项目审批进度影响，完成进度略慢于序时，下半年将加快推进。"


def _figure(ind, period: Period, pace: float, rng: random.Random) -> float:
    if ind.accumulation is Accumulation.CUMULATIVE:
        value = (sequential_target(ind, period, whole=False) or 0) * pace * rng.uniform(0.9, 1.1)
        if ind.counted:
            return float(round(value))
        return round(value, 2) if ind.target < 50 else float(round(value))
    if ind.accumulation is Accumulation.RATE:
        return round(ind.target * pace * rng.uniform(0.85, 1.1), 2)
    value = ind.target * min(pace, 1.08) * rng.uniform(0.97, 1.02)
    if ind.unit == "%":
        value = min(value, 99.5)
    return float(round(value)) if ind.counted else round(value, 1)


def fill_template(filled: Filled, generated_at: dt.datetime = STAMP, values: dict | None = None,
                  edits: dict[tuple[str, str], Any] | None = None) -> bytes:
    """The respondent's real template with ``values`` (default: its demo values) typed in, and
    ``edits`` ({(sheet, A1): value}) typed over any other cell, as a careless office might."""
    blank = render_workbook(filled.layout, generated_at)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    for f in filled.layout.fields:
        value = (values if values is not None else filled.values).get(f.key)
        if value is not None:
            cell = wb[f.sheet][f.cell]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # typed text stays text, even if it starts with "="
    for (sheet, a1), value in (edits or {}).items():
        wb[sheet][a1].value = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the bundled sample returns (sample_workbooks/) ------------------------------------------------


@dataclass(frozen=True)
class Defect:
    """A deliberate, documented problem in the samples, and the finding it must produce."""

    respondent: str  # name as the plan writes it
    file: str  # "" when the defect is a missing file
    code: str  # the finding code intake reports (docs/findings.md)
    what: str  # Chinese, for docs/sample-workbooks.md


def sample_mtime(period: Period) -> float:
    """When the sample files were "received": three days before the deadline, 17:30."""
    return dt.datetime.combine(period.deadline - dt.timedelta(days=3), dt.time(17, 30)).timestamp()


@dataclass
class Samples:
    files: list  # paths written, sorted
    skipped: list[Defect]  # defects the plan has no place for (another year's plan)


# what ``write_samples(..., overwrite=True)`` deletes first: spreadsheets, and the Word file it writes itself
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".ods")
WORD_NOTE = "区统计局_情况说明.docx"


class FolderNotEmpty(Exception):
    """``write_samples`` was pointed at a folder that already holds files (the message says which)."""


def write_samples(plan: Plan, period: Period, out_dir, soffice: str | None = None,
                  overwrite: bool = False) -> Samples:  # fmt: skip
    """Fill every respondent's real template, then plant the defects of ``sample_defects``.

    Conversions to .xls/.ods go through LibreOffice when it is installed (``soffice``);
    without it those two returns stay .xlsx and their defects are left out. The defects are
    written for the bundled plan: with another plan, each one whose unit or field that plan does
    not have is left out (``Samples.skipped``), and the rest are planted as usual.

    The sample files carry the names of real returns, and a re-run starts clean (it deletes the
    workbooks already there), so a folder holding any file is only written to with ``overwrite``.
    """
    import os
    import shutil
    from pathlib import Path

    from .template import template_filename

    out = Path(out_dir)
    if out.is_dir() and not overwrite:
        present = [p for p in out.iterdir() if not p.name.startswith(".")]
        if present:
            raise FolderNotEmpty(f"输出目录 {out} 中已有 {len(present)} 个文件（如 {present[0].name}），"
                             "示例数据会删除并替换其中的表格文件，未作任何改动。请指定一个新的或空的目录；"
                             "确认要重新生成示例时加 --overwrite。")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():  # a re-run starts clean; only files this generator writes
        if old.is_file() and not old.is_symlink() and (old.suffix.lower() in SPREADSHEET_SUFFIXES or old.name == WORD_NOTE):
            old.unlink()
    values = demo_values(plan, period)
    stamp = demo_stamp(period)

    def unit(name: str):
        """The demo's unit called ``name`` (as the bundled plan writes it) in this plan: by name or
        alias (a renamed unit keeps its old name as an alias), None when the plan has no such unit."""
        r = plan.find_respondent(name)
        return r if r is not None and r.id in values else None

    defects = sample_defects(plan)
    planted: set[str] = set()  # respondent names (as the defects write them) whose defect is in place
    skip = {d.respondent for d in defects if d.code == "E108" and unit(d.respondent)}
    skip_ids = {unit(name).id for name in skip}
    planted |= skip
    written = []
    mtime = sample_mtime(period)

    def save(name: str, data: bytes) -> Path:
        path = out / name
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        written.append(path)
        return path

    plant = {r.id: (name, planter) for name, planter in _planters(plan).items() if (r := unit(name))}
    for rid, filled in values.items():
        resp = plan.respondent(rid)
        if rid in skip_ids:
            continue
        v = dict(filled.values)
        name, planter = plant.get(rid, (resp.name, None))
        edits = planter(v, filled) if planter else None
        if planter and (edits is not None or v != filled.values):
            planted.add(name)
        save(template_filename(period, resp), fill_template(filled, stamp, values=v, edits=edits or None))

    # a resubmission: the first send (older 填报日期) and a corrected one
    jjw_unit = unit("区建交委")
    if jjw_unit is not None:
        jjw = values[jjw_unit.id]
        first = dict(jjw.values)
        first["header.date"] = dt.datetime.combine(period.deadline - dt.timedelta(days=12), dt.time())
        # a draft figure and progress text, replaced by the corrected send (the bundled plan's
        # building-retrofit task, else the return's first figure and task)
        figure = _first(jjw.values, "ind.T13-1.value", lambda k: k.startswith("ind.") and k.endswith(".value"))
        progress = _first(jjw.values, "task.13.progress", lambda k: k.startswith("task.") and k.endswith(".progress"))
        if figure:
            first[figure] = 41.0
        if progress:
            first[progress] = "（初稿）既有建筑节能改造项目正在梳理，数据待核实。"
        save(f"{period.label}_{jjw_unit.name}_碳达峰碳中和及节能工作进展填报表（第一次报送）.xlsx",
             fill_template(jjw, stamp, values=first))  # fmt: skip
        planted.add("区建交委")

    # a Word file sent instead of (alongside) the workbook
    if unit("区统计局"):
        save(WORD_NOTE, _word_note(period, stamp))
        planted.add("区统计局")

    soffice = soffice or shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        for name, fmt in (("高桥镇", "xls"), ("花木街道", "ods")):
            if unit(name) is None:
                continue
            src = out / template_filename(period, unit(name))
            converted = _convert(soffice, src, fmt)
            if converted is not None:
                src.unlink()
                written.remove(src)
                os.utime(converted, (mtime, mtime))
                written.append(converted)
                planted.add(name)
    skipped = [d for d in defects if d.respondent not in planted and d.respondent != "各单位"]
    return Samples(sorted(written), skipped)


def sample_defects(plan: Plan) -> tuple[Defect, ...]:
    """What is wrong in sample_workbooks/ on purpose (docs/sample-workbooks.md lists the same)."""
    return (
        Defect("东明路街道", "", "E108", "未报送：文件夹中没有该街道的填报表，出现在催报名单中。"),
        Defect("区建交委", "（第一次报送）", "W107",
               "重复报送：先后报送两份，按填报日期采用较新的一份，较早的一份列为重复。"),
        Defect("区教育局", "区教育局", "W204",
               "百分数按小数填写：合理值比例填为 0.92，按 92% 读取并提醒。"),
        Defect("区商务委", "区商务委", "W204", "百分数带百分号：先进值比例填为“43.5%”，按 43.5 读取并提醒。"),
        Defect("区科经委", "区科经委", "E202",
               "数字单元格填了文字：清洁生产企业数填为“约6家”，不能采用，生成退回修改表。"),
        Defect("康桥镇", "康桥镇", "E208",
               "改动了表中的项目名称：“规上工业综合能耗（吨标准煤）”被改写，该行数据不予采用，生成退回修改表；"
               "副本中项目名称已恢复，该行的两个数标红待核对。"),
        Defect("祝桥镇", "祝桥镇", "W205", _wrong_unit_text(plan)),
        Defect("航头镇", "航头镇", "E201", "漏填必填项：填报人和主要进展未填写，生成退回修改表。"),
        Defect("区统计局", "区统计局_情况说明.docx", "E001", "发来的是 Word 文档而不是填报表，列为无法采用的文件。"),
        Defect("高桥镇", "高桥镇", "", "用 WPS/旧版 Excel 另存为 .xls（97-2003）格式，可以正常读取。"),
        Defect("花木街道", "花木街道", "", "用 LibreOffice 另存为 .ods 格式，可以正常读取。"),
        Defect("各单位", "", "",
               "所有示例表均由程序填写保存，表内公式没有缓存值（与 WPS、LibreOffice 部分保存方式相同），汇总时不受影响。"),
    )


def _first(values: dict, preferred: str, fits) -> str:
    return preferred if preferred in values else next((k for k in values if fits(k)), "")


def _planters(plan: Plan) -> dict:
    """Respondent name → a function that plants that respondent's defect into its values (and
    returns cell edits, if any); a field the respondent's template lacks is left alone."""

    def put(key: str, value):
        def planter(v, filled):
            if any(f.key == key for f in filled.layout.fields):
                v[key] = value

        return planter

    def hangtou(v, _filled):
        v.pop("header.filler", None)
        for key in [k for k in v if k.startswith("task.") and k.endswith(".progress")][:1]:
            v.pop(key)

    def relabel(_v, filled):
        cells = [lb.cell for lb in filled.layout.labels if lb.sheet == ANNEX and lb.text == "规上工业综合能耗（吨标准煤）"]
        return {(ANNEX, cells[0]): "规上工业能耗（万吨）"} if cells else None

    planters = {"区教育局": put("ind.H3.value", 0.92), "区商务委": put("ind.H4.value", "43.5%"),
                "区科经委": put("ind.T07-1.value", "约6家"), "航头镇": hangtou, "康桥镇": relabel}  # fmt: skip
    wrong = _wrong_unit(plan)
    if wrong is not None:  # (in the unit the plan counts T05-1 in; no slip where it has no smaller unit)
        planters["祝桥镇"] = put("ind.T05-1.value", wrong[0])
    return planters


# 祝桥镇's slip: 3000 千瓦 (0.3万千瓦 in the bundled plan) typed into the cell of a larger unit
_SLIP_BASE_AMOUNT = 3000.0


def _wrong_unit(plan: Plan) -> tuple[float, str, str, str] | None:
    """祝桥镇's new solar capacity (T05-1) typed in the small unit instead of the indicator's own:
    (typed figure, small unit, the indicator's unit, the figure meant), e.g. 3000 千瓦 for 0.3万千瓦,
    or for 3兆瓦 in a plan that counts in 兆瓦. None when the indicator is missing or not in a power
    unit larger than 千瓦 (a plan counting in 千瓦 has no such slip: the defect is left out)."""
    try:
        ind = plan.indicator("T05-1")
    except KeyError:
        return None
    scale = POWER_IN_KW.get(ind.unit.lower())  # (a 千瓦 figure mistyped into a larger power unit)
    if ind.is_milestone or scale is None or scale <= 1:
        return None
    return _SLIP_BASE_AMOUNT, "千瓦", ind.unit, format_number(round(_SLIP_BASE_AMOUNT / scale, 6))


def _wrong_unit_text(plan: Plan) -> str:
    small, unit, meant, lead = "千瓦", "万千瓦", "0.3", "区发改委"
    wrong = _wrong_unit(plan)
    if wrong is not None:
        _, small, unit, meant = wrong
        ind = plan.indicator("T05-1")
        lead = plan.respondent(ind.lead).name if ind.lead else lead
    return (f"按{small}而不是{unit}填报：新增光伏装机填为 {format_number(_SLIP_BASE_AMOUNT)}（应为 {meant}），提醒核实；"
            f"全区数以牵头单位{lead}为准，祝桥镇一家就超过了全区数，在汇总表和报告中标出请核对。")


def _word_note(period: Period, stamp: dt.datetime = STAMP) -> bytes:
    import docx

    doc = docx.Document()
    doc.add_paragraph(f"区统计局关于{period.label}能耗数据的情况说明")
    doc.add_paragraph("全区规上工业能耗数据已按月报送区发改委，详见统计月报。")
    doc.core_properties.created = stamp
    doc.core_properties.modified = stamp
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _convert(soffice: str, src, fmt: str):
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                            "--convert-to", fmt, "--outdir", str(src.parent), str(src)],
                           check=True, capture_output=True, timeout=180)  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
    out = Path(src).with_suffix("." + fmt)
    return out if out.exists() else None
