"""A % figure typed as "2.5%" is saved as 0.025 in a cell that shows 2.5%: read as shown."""

from __future__ import annotations

import io

import openpyxl
import pytest
from helpers import needs_soffice, soffice_convert_many

from pdreport.collect import check_one
from pdreport.demo import fill_template
from pdreport.findings import Code
from pdreport.intake.cellformat import is_percent_code, percent_cells

# 区府办（机管局）: H7 (target: down 1 %) at 指标!H5, H8 (down 1.2 %) at 指标!H6
JGJ_CELLS = {"H7": "H5", "H8": "H6"}


def _return(tmp_path, demo, name: str, values: dict[str, float], fmt: str | None) -> object:
    """jgj's return with ``values`` ({indicator: stored number}) in cells formatted ``fmt``."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jgj"])))
    for ind, value in values.items():
        cell = wb["指标"][JGJ_CELLS[ind]]
        cell.value = value
        if fmt:
            cell.number_format = fmt
    path = tmp_path / name
    wb.save(path)
    return path


def _read(plan, path):
    sub, findings = check_one(plan, path, "2024H1")
    figures = {f.indicator: f.value for f in sub.figures}
    return figures, {(f.code, f.cell) for f in findings}, findings


@pytest.mark.parametrize(("code", "percent"), [
    ("0%", True), ("0.00%", True), ("0.0%;[Red]-0.0%", True), ('0.00"%"', False), ("0.00\\%", False),
    ("#,##0.00", False), ("[$%-804]0.00", False), ("General", False), ("0.00_%", False),
])  # fmt: skip
def test_percent_codes(code, percent):
    assert is_percent_code(code) is percent


def test_a_percentage_cell_is_read_as_it_shows(plan, demo, tmp_path):
    path = _return(tmp_path, demo, "pct.xlsx", {"H7": 0.025, "H8": 0.012}, "0.00%")
    figures, codes, findings = _read(plan, path)
    assert figures["H7"] == 2.5 and figures["H8"] == 1.2
    assert {(Code.PERCENT_NORMALISED, "H5"), (Code.PERCENT_NORMALISED, "H6")} <= codes
    note = next(f for f in findings if f.cell == "H5" and f.code is Code.PERCENT_NORMALISED)
    assert "百分比格式，显示为 2.5%" in note.message and note.hint == "本表百分数只填数字（如 2.5% 填 2.5）"


def test_a_fraction_in_a_number_cell_that_could_be_the_share_is_questioned(plan, demo, tmp_path):
    path = _return(tmp_path, demo, "frac.xlsx", {"H7": 0.025, "H8": 0.6}, None)
    figures, codes, findings = _read(plan, path)
    assert figures["H7"] == 0.025  # kept as typed: 0.025 % is possible
    (w,) = [f for f in findings if f.code is Code.PERCENT_MAYBE_FRACTION]
    assert w.cell == "H5" and "如本意是 2.5%" in w.message and "改填 2.5" in w.message
    assert figures["H8"] == 0.6  # 60 % against a 1.2 % target: not a share anyone meant
    assert (Code.PERCENT_MAYBE_FRACTION, "H6") not in codes


def test_a_large_share_in_a_percentage_cell_is_not_multiplied_twice(plan, demo, tmp_path):
    """占比 94 % typed as "96%": 0.96 in a percentage cell is 96, not 9600 nor 96 % of 96."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jjw"])))
    cell = wb["指标"]["H13"]  # T17-2, 新能源车辆占比, target 94 %
    cell.value, cell.number_format = 0.96, "0%"
    wb.save(tmp_path / "jjw.xlsx")
    figures, codes, _ = _read(plan, tmp_path / "jjw.xlsx")
    assert figures["T17-2"] == 96 and (Code.PERCENT_NORMALISED, "H13") in codes


def test_formats_are_looked_up_only_for_fractions(plan, demo, tmp_path, monkeypatch):
    import pdreport.intake.cellformat as cf

    asked = []
    monkeypatch.setattr(cf, "percent_cells", lambda *a: asked.append(a) or set())
    _read(plan, _return(tmp_path, demo, "plain.xlsx", {"H7": 1.5, "H8": 2.0}, "0.00%"))
    assert asked == []  # 150 % and 200 % shown: not a fraction of a share, read as typed
    _read(plan, _return(tmp_path, demo, "frac.xlsx", {"H7": 0.025, "H8": 2.0}, "0.00%"))
    assert [a[2] for a in asked] == [{"指标": {"H5"}}]


def test_unreadable_styles_give_no_answer():
    assert percent_cells(b"not a zip", "xlsx", {"指标": {"H5"}}) == set()
    assert percent_cells(b"not a zip", "ods", {"指标": {"H5"}}) == set()
    assert percent_cells(b"", "xls", {"指标": {"H5"}}) == set()


@needs_soffice
def test_percentage_cells_saved_by_libreoffice(plan, demo, tmp_path):
    """.ods keeps the percentage (read as shown); .xls does not say, so the fraction is questioned."""
    src = _return(tmp_path, demo, "pct.xlsx", {"H7": 0.025, "H8": 0.012}, "0.00%")
    ods, xls, xlsx = soffice_convert_many([src], "ods", tmp_path / "ods") + \
        soffice_convert_many([src], "xls", tmp_path / "xls") + \
        soffice_convert_many([src], "xlsx", tmp_path / "xlsx")  # fmt: skip
    for path in (ods, xlsx):
        figures, codes, _ = _read(plan, path)
        assert figures["H7"] == 2.5 and (Code.PERCENT_NORMALISED, "H5") in codes, path.name
    figures, codes, _ = _read(plan, xls)
    assert figures["H7"] == 0.025 and (Code.PERCENT_MAYBE_FRACTION, "H5") in codes
    assert figures["H8"] == 1.2  # far below anything plausible: taken as a fraction either way


# -- a text Excel took for a formula ---------------------------------------------------------


def _with_error_value(data: bytes, sheet_part: str, cell: str, error: str) -> bytes:
    """``data`` (an .xlsx openpyxl saved with a formula in ``cell``) as Excel saves it once
    calculated: the formula's result is the error value ``error``."""
    import re
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == sheet_part:
                body, n = re.subn(rb'(<c r="' + cell.encode() + rb'"[^>]*?)>(<f>[^<]*</f>)<v></v>',
                                  rb'\1 t="e">\2<v>' + error.encode() + rb"</v>", body)  # fmt: skip
                assert n == 1
            dst.writestr(info, body)
    return out.getvalue()


def _progress_return(tmp_path, demo, typed: str, error: str):
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jgj"])))
    wb["重点任务"]["F5"] = typed  # task 1's 主要进展 (required)
    saved = io.BytesIO()
    wb.save(saved)
    path = tmp_path / "jgj.xlsx"
    path.write_bytes(_with_error_value(saved.getvalue(), "xl/worksheets/sheet3.xml", "F5", error))
    return path


@pytest.mark.parametrize(("typed", "kept", "lead"), [
    ("=-完成3场培训", "-完成3场培训", "-"), ("=+资金不足", "+资金不足", "+"), ("=完成能源审计", "完成能源审计", "="),
])  # fmt: skip
def test_a_text_taken_for_a_formula_is_read_as_typed(plan, demo, tmp_path, typed, kept, lead):
    sub, findings = check_one(plan, _progress_return(tmp_path, demo, typed, "#NAME?"), "2024H1")
    assert next(t for t in sub.tasks if t.task == 1).progress == kept
    (w,) = [f for f in findings if f.cell == "F5"]
    assert w.code is Code.TEXT_AS_FORMULA and f"以“{lead}”开头" in w.message and not sub.has_errors


def test_a_formula_error_in_a_text_cell_asks_for_text(plan, demo, tmp_path):
    sub, findings = check_one(plan, _progress_return(tmp_path, demo, "=1/0", "#DIV/0!"), "2024H1")
    (e,) = [f for f in findings if f.cell == "F5"]
    assert e.code is Code.WRONG_TYPE and "#DIV/0!" in e.message and "直接填写文字" in e.hint
