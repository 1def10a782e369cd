"""问题清单.xlsx: every finding one row, grouped by respondent, plus counts and 催报名单.

All text that came from a workbook is written with ``write_string`` into a workbook
opened with ``strings_to_formulas=False``: it can never become a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict

from .collect import Collection
from .findings import Finding, Severity
from .outputs import close_workbook, gc_paused
from .plan.model import chinese_date
from .template.fastsheet import new_workbook
from .template.fit import RowHeights, a4_print, row_height, wrapped_lines
from .template.formats import BODY_FONT, BORDER, HEADER_FILL, TITLE_FONT

PROBLEM_LIST = "问题清单.xlsx"
# (title, width): sized for A4 landscape at about full scale, the header on one line
COLUMNS = (("序号", 4.5), ("填报单位", 9), ("文件", 18), ("工作表", 8), ("单元格", 6.5), ("项目", 14),
           ("填报内容", 10), ("问题代码", 8), ("级别", 4.5), ("问题说明", 26), ("处理建议", 20))  # fmt: skip
BY_UNIT = (("填报单位", 14), ("类别", 10), ("报送情况", 9), ("采用文件", 38), ("错误", 5), ("提醒", 5))
MISSING = (("序号", 5), ("单位", 16), ("类别", 10), ("说明", 48))
HEADER_ROW = 2  # row 0: title, row 1: counts or a note, row 2: column headers
UNKNOWN_FILES = "单位不明的文件"  # 按单位统计's last row: findings of files no respondent could be told for
UNKNOWN_NAMED_LIMIT = 5  # units named in the note on that row (past it: "等N个单位")


def unknown_files_note(plan, guesses: dict[str, str]) -> str:
    """What the row of files no respondent could be told for holds, as 按单位统计's note and the
    report's note under 表3 both say it. ``guesses``: each such file → the respondent its name
    suggests, "" for none (``intake.identify.respondent_named_in``; the 问题清单 rows and 汇总表's 收到文件
    name the file "区统计局（按文件名判断）"): such a file is that unit's only perhaps, so it is
    counted in this row, not the unit's, and the note says so."""
    files = sum(1 for f in guesses if f)
    head = f"{UNKNOWN_FILES}{f'共{files}份，' if files else ''}"
    guessed = {rid for rid in guesses.values() if rid}
    if not guessed:
        return head + "无法确定报送单位，未能采用"
    units = [r.name for r in plan.respondents if r.id in guessed]
    who = "、".join(units[:UNKNOWN_NAMED_LIMIT]) + (f"等{len(units)}个单位" if len(units) > UNKNOWN_NAMED_LIMIT else "")
    some = sum(1 for rid in guesses.values() if rid)
    which = "" if some == len(guesses) else f"其中{some}份"
    return (f"{head}文件中读不出报送单位，未能采用；{which}按文件名判断可能是{who}的文件，"
            f"未计入{'该单位' if len(units) == 1 else '这些单位'}")


class _Sheets:
    """The three sheets' shared frame: 10 pt bordered, wrapped cells; title, note and header rows;
    A4 one page wide with the header row on every page; row heights fitted to the text."""

    def __init__(self, wb):
        self.wb = wb
        self.rows = RowHeights()

        def f(**props):
            return wb.add_format({"font_name": BODY_FONT, "font_size": 10, "valign": "vcenter",
                                  "text_wrap": True, **props})  # fmt: skip

        self.title_fmt = f(font_name=TITLE_FONT, font_size=16, bold=True, align="center")
        self.note_fmt = f(align="left")
        self.header = f(bold=True, bg_color=HEADER_FILL, align="center", **BORDER)
        self.label = f(**BORDER)
        self.center = f(align="center", **BORDER)
        self.error = f(font_color="#C00000", bold=True, align="center", **BORDER)
        self.warning = f(font_color="#9C5700", align="center", **BORDER)

    def sheet(self, name: str, title: str, note: str, cols, landscape: bool):
        ws = self.wb.add_worksheet(name)
        last = len(cols) - 1
        widths = dict(enumerate(w for _, w in cols))
        self.rows.columns(ws, widths)
        ws.merge_range(0, 0, 0, last, title, self.title_fmt)
        ws.set_row(0, row_height(wrapped_lines(title, sum(widths.values()), 16), 16))
        ws.merge_range(1, 0, 1, last, note, self.note_fmt)
        ws.set_row(1, row_height(wrapped_lines(note, sum(widths.values()))))
        for i, (head, _) in enumerate(cols):
            ws.write_string(HEADER_ROW, i, head, self.header)
        ws.repeat_rows(HEADER_ROW)
        ws.freeze_panes(HEADER_ROW + 1, 2)
        a4_print(ws, landscape)
        return ws

    def text(self, ws, row: int, col: int, value: str, fmt=None) -> None:
        ws.write_string(row, col, value, fmt or self.label)
        self.rows.fit(ws, row, col, value)


@gc_paused()  # thousands of findings make as many rows: see gc_paused
def render_problem_list(col: Collection) -> bytes:
    plan = col.plan
    names = {r.id: r.name for r in plan.respondents}
    buf = io.BytesIO()
    wb = new_workbook(buf)
    wb.set_properties({"author": "pdreport", "created": dt.datetime.combine(col.period.deadline, dt.time())})
    s = _Sheets(wb)
    label = col.period.label
    c = col.counts
    errors = sum(x.is_error for x in col.findings)
    ws = s.sheet("问题清单", f"{plan.title}填报问题清单（{label}）",
                 f"收到文件 {c['received']} 份，采用 {c['accepted']} 份（其中有错误 {c['with_errors']} 份），"
                 f"无法采用 {c['rejected']} 份" + (f"（其中空表 {c['blank']} 份）" if c["blank"] else "")
                 + f"，重复 {c['superseded']} 份，"
                 + (f"已由更正稿替换 {c['replaced']} 份，" if c["replaced"] else "")
                 + (f"其他报送期的文件 {c['other_period']} 份（单位本期已另有采用的填报表，不列为问题），"
                    if c["other_period"] else "")
                 + (f"空表 {c['blank_beside']} 份（单位本期已另有采用的填报表，不列为问题），" if c["blank_beside"] else "")
                 + (f"分发清单 {c['listing']} 份（不是填报表，未读取），" if c["listing"] else "")
                 + f"未报送单位 {c['missing']} 个。"
                 f"错误 {errors} 条，提醒 {len(col.findings) - errors} 条。", COLUMNS, landscape=True)  # fmt: skip
    row = HEADER_ROW + 1
    # a file that says nothing of itself (encrypted, broken …) but is named after a unit: as 汇总表
    # 收到文件 shows it
    guessed = {o.file: o.owner(names) for o in col.outcomes if o.guessed}
    for n, x in enumerate(col.findings, 1):
        unit = names.get(x.respondent) or (guessed.get(x.file, "") if x.file else "")
        cells = [unit, x.file, x.sheet, x.cell, x.label, x.value,
                 x.code.code, x.level.label, x.message, x.hint]  # fmt: skip
        ws.write_number(row, 0, n, s.center)
        for i, v in enumerate(cells, 1):
            if i == 8:
                fmt = s.error if x.level is Severity.ERROR else s.warning
            else:
                fmt = s.center if i in (3, 4, 7) else None
            s.text(ws, row, i, v, fmt)
        row += 1
    ws.autofilter(HEADER_ROW, 0, max(row - 1, HEADER_ROW + 1), len(COLUMNS) - 1)
    s.rows.set_heights(ws)

    # Each respondent's findings, grouped once: scanning every finding for every respondent (and
    # again for every missing one) grows with units × findings, minutes at 10,000 units.
    mine_of: dict[str, list[Finding]] = defaultdict(list)
    for x in col.findings:
        mine_of[x.respondent].append(x)

    status_of = {}
    for resp in plan.respondents:
        sub = col.submissions.get(resp.id)
        status_of[resp.id] = "未报送" if sub is None else ("需退回修改" if sub.has_errors else "已报送")
    counted = Counter(status_of.values())
    # Every finding is counted under the unit it names, whichever of the unit's files it is on (the
    # W107 on a superseded copy too), and those of files no unit could be told for in a last row:
    # the counts add up to the title's, as in the report's 附件2 表3.
    known = {r.id for r in plan.respondents}
    unknown = [x for x in col.findings if x.respondent not in known]
    by = s.sheet("按单位统计", f"填报问题按单位统计（{label}）",
                 f"应报单位 {len(plan.respondents)} 个：已报送 {counted['已报送'] + counted['需退回修改']} 个"
                 f"（其中需退回修改 {counted['需退回修改']} 个），未报送 {counted['未报送']} 个。"
                 f"错误 {errors} 条，提醒 {len(col.findings) - errors} 条，按问题所属单位统计，含该单位未采用的文件"
                 "（如重复报送的较早一份）中的问题，与报告附件2表3一致；“报送情况”按采用的文件判断"
                 + (f"；{unknown_files_note(plan, _guesses(col, unknown))}" if unknown else "") + "。",
                 BY_UNIT, landscape=False)  # fmt: skip
    rows = [(resp.name, resp.kind.label, status_of[resp.id], sub.file if (sub := col.submissions.get(resp.id)) else "",
             mine_of.get(resp.id, ())) for resp in plan.respondents]  # fmt: skip
    if unknown:
        rows.append((UNKNOWN_FILES, "", "无法采用", "", unknown))
    for r, (*values, mine) in enumerate(rows, HEADER_ROW + 1):
        for i, v in enumerate(values):
            s.text(by, r, i, v, s.center if i in (1, 2) else None)
        by.write_number(r, 4, sum(x.is_error for x in mine), s.center)
        by.write_number(r, 5, sum(not x.is_error for x in mine), s.center)
    by.autofilter(HEADER_ROW, 0, HEADER_ROW + len(rows), len(BY_UNIT) - 1)
    s.rows.set_heights(by)

    miss = s.sheet("催报名单", f"催报名单（{label}，截止{chinese_date(col.period.deadline)}）",
                   f"共 {len(col.missing)} 个单位未报送（或报送的文件无法采用），请及时催报。" if col.missing
                   else "各单位均已报送，本期无需催报。",
                   MISSING, landscape=False)  # fmt: skip
    rejected = {o.file for o in col.outcomes if o.status != "已采用"}
    named = {}  # respondent id → files only their names tie to it (encrypted, broken …)
    for o in col.outcomes:
        if o.guessed:
            named.setdefault(o.respondent, []).append(o.file)
    blank = {o.file for o in col.outcomes if o.blank}
    for r, rid in enumerate(col.missing, HEADER_ROW + 1):
        resp = plan.respondent(rid)
        sent = sorted({x.file for x in mine_of.get(rid, ()) if x.file in rejected})
        if sent and set(sent) <= blank:
            note = f"收到的是未填写的空白填报表：{'、'.join(sent)}"
        else:
            note = f"已收到文件但无法采用：{'、'.join(sent)}" if sent else "未收到填报表"
        if named.get(rid):
            maybe = f"按文件名判断，可能是本单位的文件，但无法采用：{'、'.join(sorted(named[rid]))}"
            note = f"{note}；{maybe}" if sent else maybe
        miss.write_number(r, 0, r - HEADER_ROW, s.center)
        s.text(miss, r, 1, resp.name)
        s.text(miss, r, 2, resp.kind.label, s.center)
        s.text(miss, r, 3, note)
    s.rows.set_heights(miss)
    close_workbook(wb)
    return buf.getvalue()


def _guesses(col: Collection, unknown: list[Finding]) -> dict[str, str]:
    """The files of ``unknown`` (findings no respondent is named for), each with the respondent its
    name suggests as its ``FileOutcome`` has it ("" for none)."""
    files = {x.file for x in unknown if x.file}
    return {o.file: o.respondent if o.guessed else "" for o in col.outcomes if o.file in files}
