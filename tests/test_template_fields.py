"""Templates, field by field: the hidden map points at the right input cells, every input has a
Chinese prompt and error message, and the live checks compute the right numbers once filled."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from helpers import grid, needs_soffice, read_map_and_values, soffice_convert_many
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_cell_to_rowcol

from pdreport.template import build_layout, generate_templates, render_workbook
from pdreport.template.layout import (
    ANNEX,
    ANNEX_FIRST_ROW,
    COVER,
    COVER_FIRST_FIELD_ROW,
    COVER_VALUE_COL,
    HEADER_FIELDS,
    HEADER_ROW,
    IND_COLUMNS,
    IND_RATIO,
    INDICATORS,
    MS_COLUMNS,
    TASK_COLUMNS,
    TASKS,
)
from pdreport.template.metadata import metadata_rows

STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)
CJK = re.compile(r"[\u4e00-\u9fff]")
CHECK_ROW = COVER_FIRST_FIELD_ROW + len(HEADER_FIELDS) + 1  # 填报检查 (row index, 0-based)


@pytest.fixture(scope="module")
def h1_files(plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("h1")
    return generate_templates(plan, plan.period("2024H1"), out, generated_at=STAMP)


def column_header(field) -> str:
    """The column heading a field's cell should sit under, by what the key says it is."""
    part = field.key.rsplit(".", 1)[-1]
    if field.sheet == INDICATORS:
        return {"value": "填报值", "note": "情况说明"}[part]
    if field.sheet == TASKS and field.key.startswith("task."):
        return {"status": "推进状态", "progress": "主要进展", "problems": "存在问题",
                "next": "下一步工作"}[part]  # fmt: skip
    if field.sheet == TASKS:
        return {"done": "是否完成", "date": "完成日期", "note": "情况说明"}[part]
    raise AssertionError(field.key)


def test_map_points_at_the_right_input_cells(plan, h1_files):
    """Every mapped cell is under the right column heading, on the row of the right item."""
    for tf in h1_files:
        wb = CalamineWorkbook.from_path(str(tf.path))
        sheets = {name: grid(wb, name) for name in tf.layout.sheets}
        cells = [(f.sheet, f.cell) for f in tf.layout.fields]
        assert len(cells) == len(set(cells)), f"two fields share a cell in {tf.path.name}"
        label_cells = {(lb.sheet, lb.cell) for lb in tf.layout.labels}
        assert not label_cells & set(cells), "an input cell is also a checked label"
        ms_header = tf.layout.milestone_header_row
        for f in tf.layout.fields:
            rows = sheets[f.sheet]
            r, c = xl_cell_to_rowcol(f.cell)
            assert rows[r][c] == "", f"{tf.path.name} {f.key}: a fresh input cell must be empty"
            if f.sheet == COVER:
                assert rows[r][1] == dict((k, t) for k, t, _ in HEADER_FIELDS)[f.key]
            elif f.sheet == ANNEX:
                assert r >= ANNEX_FIRST_ROW and rows[ANNEX_FIRST_ROW - 1][c] != ""
            elif f.sheet == TASKS and not f.key.startswith("task."):
                assert rows[ms_header][c] == column_header(f), f.key
                # labelled as the row reads (所属任务, 里程碑事项), never by the plan's id
                owner = rows[r][1].split("（")[0]
                assert f.label == f"{owner} {rows[r][2]}·{column_header(f)}", f.key
                assert f.ref not in f.label, f.key
            else:
                assert rows[HEADER_ROW][c] == column_header(f), (tf.path.name, f.key)
                if f.sheet == INDICATORS:
                    ind = plan.indicator(f.ref)
                    assert rows[r][2] == ind.name and rows[r][3] == ind.unit, f.key
                    owner = rows[r][1].replace("\n", "")  # (总体目标\n第1项 in its narrow column)
                    assert f.label == f"{owner} {ind.name}·{column_header(f)}", f.key
                    assert f.ref not in f.label, f.key
                else:
                    task = plan.task(int(f.ref))
                    assert int(rows[r][0]) == task.number and rows[r][1] == task.title, f.key
        if tf.layout.indicators:
            assert sheets[INDICATORS][HEADER_ROW][: len(IND_COLUMNS)] == list(IND_COLUMNS)
        if tf.layout.tasks:
            assert sheets[TASKS][HEADER_ROW][: len(TASK_COLUMNS)] == list(TASK_COLUMNS)
        if tf.layout.milestones:
            assert sheets[TASKS][ms_header][: len(MS_COLUMNS)] == list(MS_COLUMNS)


def test_metadata_sheet_is_the_layout(plan, h1_files):
    """The hidden map, read back with calamine, is exactly the layout the workbook was drawn from."""
    for tf in h1_files[::7]:
        wb = CalamineWorkbook.from_path(str(tf.path))
        tmap, _ = read_map_and_values(tf.path)
        assert tmap.fields == tuple(tf.layout.fields)
        assert tmap.labels == tuple(tf.layout.labels)
        rows = metadata_rows(tf.layout, STAMP.isoformat(timespec="seconds"))
        stored = grid(wb, "_pdreport")
        assert [[str(v) for v in row[: len(want)]] for row, want in zip(stored, rows, strict=False)] == rows


def test_validation_messages_are_chinese(h1_files):
    for tf in h1_files:
        wb = openpyxl.load_workbook(tf.path)
        for field in tf.layout.fields:
            ws = wb[field.sheet]
            (dv,) = [dv for dv in ws.data_validations.dataValidation if field.cell in dv.sqref]
            assert dv.showInputMessage and dv.showErrorMessage, field.key
            for text in (dv.promptTitle, dv.prompt, dv.errorTitle, dv.error):
                assert text and CJK.search(text), (tf.path.name, field.key, text)
            assert len(dv.promptTitle) <= 32 and len(dv.errorTitle) <= 32
            # a long name is shortened, never the part that tells a row's cells apart
            if "·" in field.label:
                assert dv.promptTitle.endswith("·" + field.label.rpartition("·")[2]), dv.promptTitle
            if field.key.startswith("ind."):
                assert field.ref not in dv.promptTitle, dv.promptTitle  # no plan id (H1, T05-1)
            assert len(dv.prompt) <= 255 and len(dv.error) <= 255
            if field.kind == "number" and field.unit:
                assert field.unit in dv.prompt, field.key
            if field.kind == "choice":
                assert all(c in dv.prompt and c in dv.formula1 for c in field.choices), field.key
        titles = [(f.sheet, _row(f.cell), dv_title(wb, f)) for f in tf.layout.fields]
        assert len(set(titles)) == len(titles), tf.path.name  # the cells of one row differ by title


def _row(a1: str) -> int:
    return xl_cell_to_rowcol(a1)[0]


def dv_title(wb, field) -> str:
    return next(dv.promptTitle for dv in wb[field.sheet].data_validations.dataValidation if field.cell in dv.sqref)


def test_sheets_are_protected_without_locking_inputs(h1_files):
    for tf in h1_files:
        wb = openpyxl.load_workbook(tf.path)
        for name in tf.layout.sheets:
            ws = wb[name]
            assert ws.protection.sheet and ws.protection.password, name
            assert not ws.protection.selectUnlockedCells  # False = selecting unlocked cells allowed
        locked_inputs = [f.key for f in tf.layout.fields if wb[f.sheet][f.cell].protection.locked]
        assert locked_inputs == []


def test_check_cell_caches_what_is_left_in_a_prefilled_workbook(plan):
    """A workbook rendered with values (demos, benchmarks) caches the count of required inputs left
    empty or holding only spaces, and the matching message."""
    layout = build_layout(plan, plan.respondent("fgw"), plan.period("2024H1"))
    required = layout.required_fields()
    values = {f.key: ("已填写" if f.kind in ("text", "choice") else 1.0) for f in required}
    cases = {0: values, 2: dict(values, **{required[0].key: None, required[1].key: "  "})}
    for left, given in cases.items():
        rows = grid(CalamineWorkbook.from_filelike(io.BytesIO(render_workbook(layout, STAMP, given))), COVER)
        assert rows[CHECK_ROW][COVER_VALUE_COL] == left
        shown = rows[CHECK_ROW][COVER_VALUE_COL + 1]
        assert shown == (f"尚有{left}项必填内容未填写\n（橙色单元格）" if left else "必填项已全部填写，可以报送")


def test_check_cell_counts_required_inputs_per_period(plan, tmp_path):
    """The cached 填报检查 count equals the number of required inputs, for every period."""
    for period in plan.periods:
        files = generate_templates(plan, period, tmp_path / period.id, ["区发改委", "康桥镇", "花木街道"],
                                   STAMP)  # fmt: skip
        for tf in files:
            rows = grid(CalamineWorkbook.from_path(str(tf.path)), COVER)
            need = len(tf.layout.required_fields())
            assert need > 0
            assert rows[CHECK_ROW][COVER_VALUE_COL] == need
            assert rows[CHECK_ROW][COVER_VALUE_COL + 1] == f"尚有{need}项必填内容未填写\n（橙色单元格）"


@needs_soffice
def test_live_checks_recalculate_once_filled(plan, tmp_path):
    """Filled with openpyxl (which drops cached results), LibreOffice recalculates: 填报检查 falls to
    the number of required inputs left empty, and 完成率 is the figure over the annual target."""
    files = generate_templates(plan, plan.period("2024H1"), tmp_path / "blank", ["区发改委", "康桥镇"],
                               STAMP)  # fmt: skip
    srcs, expect = [], {}
    for tf in files:
        wb = openpyxl.load_workbook(tf.path)
        required = tf.layout.required_fields()
        skipped = required[:3]  # leave three required inputs empty
        # … and three hold only spaces (full-width ones, a line break): empty to intake (E201) too
        spaced = dict(zip([f for f in required[3:] if f.kind == "text"][:3], ("   ", "\u3000\u3000", " \n "), strict=False))
        ratios = {}
        for i, f in enumerate(tf.layout.fields):
            if f in skipped:
                continue
            if f in spaced:
                wb[f.sheet][f.cell] = spaced[f]
                continue
            value = {"number": 3.0 + i, "choice": (f.choices or ("是",))[0], "date": dt.datetime(2024, 6, 30),
                     "text": "已填写"}[f.kind]  # fmt: skip
            wb[f.sheet][f.cell] = value
            if f.key.endswith(".value"):
                ratios[f.ref] = value
        formulas = {row.indicator.id: str(wb[INDICATORS].cell(row.row + 1, IND_RATIO + 1).value)
                    for row in tf.layout.indicators}  # fmt: skip
        dst = tmp_path / f"{tf.respondent.id}.xlsx"
        wb.save(dst)
        srcs.append(dst)
        assert len(spaced) == 3
        expect[tf.respondent.id] = (tf, len(skipped) + len(spaced), ratios, formulas)
    assert any(f.startswith("=") for *_, formulas in expect.values() for f in formulas.values())
    for out in soffice_convert_many(srcs, "xlsx", tmp_path / "lo"):
        tf, left, ratios, formulas = expect[out.stem]
        book = CalamineWorkbook.from_path(str(out))
        rows = grid(book, COVER)
        assert rows[CHECK_ROW][COVER_VALUE_COL] == left
        assert rows[CHECK_ROW][COVER_VALUE_COL + 1] == f"尚有{left}项必填内容未填写\n（橙色单元格）"
        ind_rows = grid(book, INDICATORS) if tf.layout.indicators else []
        for row in tf.layout.indicators:
            ind, got = row.indicator, ind_rows[row.row][IND_RATIO]
            if not formulas[ind.id].startswith("="):
                assert got == "—" and (row.role == "contributor" or not ind.target)
            elif ind.id in ratios:
                assert got == pytest.approx(ratios[ind.id] / ind.target)
            else:
                assert got == ""  # left empty: no ratio, and not 0
