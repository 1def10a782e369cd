"""Templates: generated for every respondent and period, then read back as a user's tools would."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from helpers import assert_rows_fit, column_widths, grid, read_map_and_values
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_cell_to_rowcol

from pdreport.plan import RespondentKind
from pdreport.plan.model import COUNT_UNITS
from pdreport.template import (
    DISTRIBUTION_LIST,
    build_layout,
    generate_templates,
    render_workbook,
    template_filename,
)
from pdreport.template.fit import wrapped_lines
from pdreport.template.formats import INPUT_FILL
from pdreport.template.layout import (
    ANNEX,
    COVER,
    COVER_FIRST_FIELD_ROW,
    HEADER_ROW,
    INDICATORS,
    META,
    TASKS,
)

STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)


@pytest.fixture(scope="module")
def h1_files(plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("h1")
    return generate_templates(plan, plan.period("2024H1"), out, generated_at=STAMP)


def expected_keys(plan, rid):
    keys = {"header.filler", "header.phone", "header.date", "header.reviewer"}
    for ind in plan.indicators_for(rid):
        if ind.is_milestone:
            keys |= {f"ind.{ind.id}.done", f"ind.{ind.id}.date", f"ind.{ind.id}.note"}
        else:
            keys |= {f"ind.{ind.id}.value", f"ind.{ind.id}.note"}
    for t in plan.tasks_for(rid):
        keys |= {f"task.{t.number}.{k}" for k in ("status", "progress", "problems", "next")}
    if plan.annex.unit_for(rid):
        keys |= {"annex.energy_base", "annex.energy_current", "annex.output_base",
                 "annex.output_current", "annex.note"}  # fmt: skip
    return keys


@pytest.mark.parametrize("period_id", ["2024Q1", "2024H1", "2024Q3", "2024FY"])
def test_every_period_every_respondent_maps_exactly_its_content(plan, tmp_path, period_id):
    period = plan.period(period_id)
    files = generate_templates(plan, period, tmp_path, generated_at=STAMP)
    assert len(files) == 58
    assert (tmp_path / DISTRIBUTION_LIST).exists()
    for tf in files:
        assert tf.path.name == template_filename(period, tf.respondent)
        tmap, values = read_map_and_values(tf.path)
        assert (tmap.plan_id, tmap.period_id, tmap.respondent_id) == (plan.id, period_id, tf.respondent.id)
        assert {f.key for f in tmap.fields} == expected_keys(plan, tf.respondent.id)
        assert all(v == "" for v in values.values()), "a fresh template has empty inputs"
        book = CalamineWorkbook.from_path(str(tf.path))
        shown = {name: grid(book, name) for name in tf.layout.sheets}
        for lb in tmap.labels:  # what staff see is what the map says (names, numbers, headings)
            r, c = xl_cell_to_rowcol(lb.cell)
            seen = shown[lb.sheet][r][c]
            assert (str(int(seen)) if isinstance(seen, float) else seen) == lb.text, (tf.path.name, lb)


def test_visible_content_matches_the_plan(plan, h1_files):
    for tf in h1_files:
        rid = tf.respondent.id
        wb = CalamineWorkbook.from_path(str(tf.path))
        names = wb.sheet_names
        numeric = [i for i in plan.indicators_for(rid) if not i.is_milestone]
        assert (INDICATORS in names) == bool(numeric)
        assert (ANNEX in names) == (plan.annex.unit_for(rid) is not None)
        if numeric:
            rows = wb.get_sheet_by_name(INDICATORS).to_python()
            shown = [r[2] for r in rows[4:4 + len(numeric)]]
            assert shown == [i.name for i in numeric]
            # the plan's 口径说明 (who reports the district's figure, a year-end target …) is on the form
            bases = [r[6] for r in rows[4:4 + len(numeric)]]
            assert all(b.endswith(f"。{i.note}") for b, i in zip(bases, numeric, strict=True) if i.note)
        tasks = plan.tasks_for(rid)
        if tasks:
            rows = wb.get_sheet_by_name(TASKS).to_python()
            assert [int(r[0]) for r in rows[4:4 + len(tasks)]] == [t.number for t in tasks]
            assert [r[2] for r in rows[4:4 + len(tasks)]] == [t.text for t in tasks]


def test_streets_and_towns_get_only_what_they_owe(plan, h1_files):
    by_name = {tf.respondent.name: tf for tf in h1_files}
    street = by_name["花木街道"]
    assert street.layout.sheets == [COVER, TASKS]
    assert [t.task.number for t in street.layout.tasks] == [21, 23, 24, 34]
    town = by_name["康桥镇"]
    assert town.layout.sheets == [COVER, INDICATORS, ANNEX, TASKS]
    assert [r.indicator.id for r in town.layout.indicators] == ["T05-1"]
    assert town.layout.indicators[0].role == "contributor"
    assert town.layout.annex_target == 3.5
    assert by_name["金桥镇"].layout.annex_target is None


def test_protection_validation_and_styles(plan, h1_files):
    for tf in h1_files:
        wb = openpyxl.load_workbook(tf.path)
        assert wb[META].sheet_state == "veryHidden" and wb[META].protection.sheet
        fields = tf.layout.fields
        for name in tf.layout.sheets:
            ws = wb[name]
            assert ws.protection.sheet, name
            assert ws.page_setup.paperSize in (9, "9")
            assert ws.sheet_properties.pageSetUpPr.fitToPage
        for field in fields:
            ws = wb[field.sheet]
            c = ws[field.cell]
            assert c.protection.locked is False, field.key
            assert c.fill.fgColor.rgb.endswith(INPUT_FILL[1:]), field.key
            dvs = [dv for dv in ws.data_validations.dataValidation if field.cell in dv.sqref]
            assert len(dvs) == 1, field.key
            dv = dvs[0]
            assert dv.prompt and dv.error and dv.showErrorMessage, field.key
            expected = {"number": "decimal", "text": "textLength", "choice": "list", "date": "date"}
            assert dv.type == expected[field.kind], field.key
            if field.kind == "choice":
                assert len(dv.formula1) < 255
            # text is kept as typed: "-完成3场培训" never becomes a formula, a phone keeps its 0
            assert (c.number_format == "@") is (field.kind == "text"), field.key
        for lb in tf.layout.labels:
            c = wb[lb.sheet][lb.cell]
            assert str(c.value) == lb.text and c.protection.locked is not False


def test_required_blanks_are_highlighted(plan, h1_files):
    tf = next(t for t in h1_files if t.respondent.name == "区建交委")
    wb = openpyxl.load_workbook(tf.path)
    ws = wb[INDICATORS]
    ranges = {str(cf.sqref) for cf in ws.conditional_formatting}
    for f in tf.layout.required_fields():
        if f.sheet == INDICATORS:
            assert f.cell in ranges


def test_cached_formula_values(plan, h1_files):
    """Readers that do not recalculate (calamine, pandas) must see the right values, not 0."""
    for tf in h1_files:
        formulas = openpyxl.load_workbook(tf.path)
        cached = openpyxl.load_workbook(tf.path, data_only=True)
        check = formulas[COVER]
        required = len(tf.layout.required_fields())
        found = False
        for row in check.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("=(IFERROR(LEN(TRIM("):
                    assert cached[COVER][c.coordinate].value == required
                    assert c.value.count("LEN(TRIM(") == required  # one term per required input
                    found = True
        assert found
        for name in tf.layout.sheets:
            for row in formulas[name].iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value.startswith("="):
                        assert cached[name][c.coordinate].value not in (0, "0"), (name, c.coordinate)


def test_print_setup(plan, h1_files):
    tf = next(t for t in h1_files if t.respondent.name == "区建交委")
    wb = openpyxl.load_workbook(tf.path)
    for name in (INDICATORS, TASKS):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows.replace("$", "") == "4:4"
        assert ws.freeze_panes is not None
    assert wb[COVER].page_setup.orientation in (None, "portrait")


def test_owner_column_reads_as_the_notice_numbers_it(plan, h1_files):
    # 所属 says 总体目标第5项 or 任务12, never an internal id such as H5 that reads like a cell
    headline = {h.id: n for n, h in enumerate(plan.headline, 1)}
    seen = set()
    for tf in h1_files:
        if not tf.layout.indicators:
            continue
        rows = grid(CalamineWorkbook.from_path(str(tf.path)), INDICATORS)
        for row in tf.layout.indicators:
            ind, shown = row.indicator, rows[row.row][1]
            expected = f"任务{ind.task_number}" if ind.task_number else f"总体目标\n第{headline[ind.owner]}项"
            assert shown == expected, (tf.respondent.name, ind.id, shown)
            seen.add(shown.split("\n")[0])
    assert seen >= {"总体目标", "任务5"}


@pytest.mark.parametrize(("period_id", "heading"), [("2024H1", "序时目标"), ("2024FY", "年末目标")])
def test_the_year_end_form_does_not_ask_for_a_sequential_target(plan, tmp_path, period_id, heading):
    # at year end the 序时 figure is the whole year's: headed 序时目标 beside 年度目标 it reads as a
    # second target; the figure stays, under a heading that says what it is
    rid = next(r.id for r in plan.respondents if r.name == "区发改委")
    layout = build_layout(plan, plan.find_respondent(rid), plan.period(period_id))
    path = tmp_path / "t.xlsx"
    path.write_bytes(render_workbook(layout, STAMP))
    header = grid(CalamineWorkbook.from_path(str(path)), INDICATORS)[HEADER_ROW]
    assert header[4:6] == ["年度目标", heading]
    assert "序时目标" not in header or period_id != "2024FY"
    tmap, _ = read_map_and_values(path)
    assert {lb.text for lb in tmap.labels if lb.sheet == INDICATORS and lb.cell == "F4"} == {heading}


def test_instructions_say_counts_are_whole_numbers(plan, h1_files):
    for tf in h1_files:
        if not tf.layout.indicators:
            continue
        rows = grid(CalamineWorkbook.from_path(str(tf.path)), COVER)
        text = next(r[1] for r in rows if isinstance(r[1], str) and r[1].startswith("5. “指标”表"))
        units = {r.indicator.unit for r in tf.layout.indicators}
        counted = units & COUNT_UNITS
        if counted:
            assert "请填整数" in text and all(f"“{u}”" in text.split("的指标请填整数")[0] for u in counted)
        else:
            assert "整数" not in text
        assert ("两位小数" in text) == bool(units - COUNT_UNITS)
    jjw = next(tf for tf in h1_files if tf.respondent.name == "区建交委")
    assert {r.indicator.unit for r in jjw.layout.indicators} & COUNT_UNITS  # the case is exercised


def test_cover_and_headers_print_whole(plan, h1_files):
    # the 填报检查 message and every instruction fit their rows; short headers stay on one line
    for tf in h1_files[:12]:
        wb = openpyxl.load_workbook(tf.path, data_only=True)  # formulas as their cached text
        assert "项必填内容未填写" in wb[COVER].cell(COVER_FIRST_FIELD_ROW + 6, 4).value
        assert_rows_fit(wb[COVER], COVER_FIRST_FIELD_ROW, font_size=11)
        for name in (INDICATORS, TASKS):
            if name not in wb.sheetnames:
                continue
            ws = wb[name]
            widths = column_widths(ws)
            for cell in ws[HEADER_ROW + 1]:
                if isinstance(cell.value, str) and "（" not in cell.value:
                    assert wrapped_lines(cell.value, widths[cell.column] - 0.71, 11) == 1, (name, cell.value)


def test_deterministic(plan):
    r = plan.find_respondent("区建交委")
    lay = build_layout(plan, r, plan.period("2024H1"))
    assert render_workbook(lay, STAMP) == render_workbook(lay, STAMP)


def test_distribution_list(plan, h1_files):
    path = h1_files[0].path.parent / DISTRIBUTION_LIST
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("分发清单").to_python()
    body = [r for r in rows[2:] if r[0] != ""]
    assert len(body) == 58
    assert {r[1] for r in body} == {r.name for r in plan.respondents}
    assert all(r[8] == "2025年1月15日" or r[8] == "2024年7月15日" for r in body)
    kinds = {r[2] for r in body}
    assert kinds == {k.label for k in RespondentKind}
    # 填报内容 names indicators as the sheets do (任务5 …, 总体目标第1项 …), never by plan id
    ids = {i.id for i in plan.indicators}
    words = {w for r in body for part in r[9].split("；") for w in part.split()}
    assert not words & ids, words & ids
    jiaowei = next(r[9] for r in body if r[1] == "区建交委")
    assert "任务" in jiaowei and "新能源公交车" in jiaowei, jiaowei



def test_distribution_list_rows_fit_their_text(plan, h1_files):
    """LibreOffice and WPS do not fit rows of wrapped text when they open a file: without heights
    the wrapped file names and 填报内容 lines printed over the next rows. Every row has a height,
    enough for its wrapped text (at 11 pt), and the list prints A4 landscape one page wide."""
    from helpers import assert_a4_one_page_wide

    from pdreport.template.fit import row_height

    ws = openpyxl.load_workbook(h1_files[0].path.parent / DISTRIBUTION_LIST)["分发清单"]
    assert ws.max_row == 2 + 58
    for r in range(1, ws.max_row + 1):
        height = ws.row_dimensions[r].height
        assert height is not None and ws.row_dimensions[r].customHeight, r
        assert height >= row_height(1, 11) - 0.75, (r, height)
    assert ws.row_dimensions[1].height >= 30
    tall = [r for r in range(3, ws.max_row + 1) if ws.row_dimensions[r].height > row_height(2, 11)]
    assert tall  # (the long 填报内容 lists: several lines)
    assert_rows_fit(ws, 2, font_size=11)
    assert_a4_one_page_wide(ws, "landscape", header_row=2, min_scale=0.5)

def test_only_selects_units_and_groups(plan, tmp_path):
    files = generate_templates(plan, plan.period("2024Q1"), tmp_path, ["区建交委", "各街道"], STAMP)
    assert len(files) == 13


def test_the_count_rule_follows_the_plans_count_units(plan_text, tmp_path):
    """A unit the plan lists in count_units (场 here) is asked as a whole number on the form; one
    it leaves out (家) is not, whatever the built-in default says."""
    from pdreport.plan.load import parse_plan

    t08 = "quote: 完成10家绿色制造示范单位创建\n      target: 10\n      unit: 家\n"
    text = plan_text.replace(t08, t08.replace("unit: 家", "unit: 场"))
    text = text.replace("  year: 2024\n", "  year: 2024\n  count_units: [个, 辆, 场]\n", 1)
    plan = parse_plan(text)
    kjw = plan.find_respondent("区科经委")
    lay = build_layout(plan, kjw, plan.period("2024H1"))
    units = {r.indicator.unit for r in lay.indicators}
    assert {"场", "家"} <= units
    (path := tmp_path / "f.xlsx").write_bytes(render_workbook(lay, STAMP))
    rows = grid(CalamineWorkbook.from_path(str(path)), COVER)
    rule = next(r[1] for r in rows if isinstance(r[1], str) and r[1].startswith("5. “指标”表"))
    asked = rule.split("计量单位为")[-1].split("的指标请填整数")[0]
    assert "“场”" in asked and "“家”" not in asked
