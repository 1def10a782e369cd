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
    assert "百分比格式，显示为 2.5%" in note.message
    assert note.hint == "本表百分数只填数字（如 2.5% 填 2.5），并把该格的格式改为“常规”（否则 2.5 会显示为 250%）"


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


def test_a_percentage_typed_where_an_amount_belongs_is_not_taken(plan, demo, tmp_path):
    """"50%" typed in Excel into 建筑节能改造面积 (万平方米) is saved as 0.5 in a cell showing 50%:
    not 0.5 万平方米 without a word, but E202, as the text "50%" is."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jjw"])))
    cells = {"H5": (0.5, "0%"), "H6": (0.5, "General"), "H7": (1, "0%")}  # (H6: a real half, as typed; H7: 100%)
    for ref, (value, fmt) in cells.items():
        wb["指标"][ref].value, wb["指标"][ref].number_format = value, fmt
    wb.save(tmp_path / "jjw.xlsx")
    sub, findings = check_one(plan, tmp_path / "jjw.xlsx", "2024H1")
    [wrong] = [f for f in findings if f.cell == "H5"]
    assert wrong.code is Code.WRONG_TYPE and "单元格却显示为百分数 50%（存为 0.5），无法采用" in wrong.message
    assert "格式改为“常规”或“数值”" in wrong.hint
    assert not [f for f in findings if f.cell == "H6"]
    [whole] = [f for f in findings if f.cell == "H7"]
    assert whole.code is Code.WRONG_TYPE and "显示为百分数 100%（存为 1）" in whole.message
    read = {f.source.cell: f.value for f in sub.figures if f.source.sheet == "指标"}
    assert "H5" not in read and read["H6"] == 0.5


def test_formats_are_looked_up_only_for_fractions(plan, demo, tmp_path, monkeypatch):
    import pdreport.intake.cellformat as cf

    asked = []
    monkeypatch.setattr(cf, "percent_cells", lambda *a: asked.append(a) or set())
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jgj"])))
    assert 0 < wb["指标"]["H7"].value < 1  # an amount below 1 in jgj's demo return ("50%" would be 0.5)
    _read(plan, _return(tmp_path, demo, "plain.xlsx", {"H7": 1.5, "H8": 2.0}, "0.00%"))
    assert [a[2] for a in asked] == [{"指标": {"H7"}}]  # 150 % and 200 % shown: read as typed
    _read(plan, _return(tmp_path, demo, "frac.xlsx", {"H7": 0.025, "H8": 2.0}, "0.00%"))
    assert [a[2] for a in asked[1:]] == [{"指标": {"H5", "H7"}}]


def test_unreadable_styles_give_no_answer():
    assert percent_cells(b"not a zip", "xlsx", {"指标": {"H5"}}) == set()
    assert percent_cells(b"not a zip", "ods", {"指标": {"H5"}}) == set()
    assert percent_cells(b"", "xls", {"指标": {"H5"}}) == set()
    assert percent_cells(b"\xd0\xcf\x11\xe0" + bytes(600), "xls", {"指标": {"H5"}}) == set()


@needs_soffice
def test_percentage_cells_saved_by_libreoffice(plan, demo, tmp_path):
    """.ods, .xls and .xlsx as LibreOffice saves them all keep the percentage: read as shown."""
    src = _return(tmp_path, demo, "pct.xlsx", {"H7": 0.025, "H8": 0.012}, "0.00%")
    for kind in ("ods", "xls", "xlsx"):
        [path] = soffice_convert_many([src], kind, tmp_path / kind)
        figures, codes, _ = _read(plan, path)
        assert figures["H7"] == 2.5 and figures["H8"] == 1.2, path.name
        assert (Code.PERCENT_NORMALISED, "H5") in codes, path.name


@needs_soffice
def test_a_percentage_typed_where_an_amount_belongs_in_an_xls(plan, demo, tmp_path):
    """"50%" in a 万平方米 cell of an .xls (WPS and Excel save its format in the XF records)."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jjw"])))
    for ref, (value, fmt) in {"H5": (0.5, "0%"), "H6": (0.5, "General")}.items():
        wb["指标"][ref].value, wb["指标"][ref].number_format = value, fmt
    (tmp_path / "src").mkdir()
    wb.save(tmp_path / "src" / "jjw.xlsx")
    [xls] = soffice_convert_many([tmp_path / "src" / "jjw.xlsx"], "xls", tmp_path / "xls")
    _, findings = check_one(plan, xls, "2024H1")
    [wrong] = [f for f in findings if f.cell == "H5"]
    assert wrong.code is Code.WRONG_TYPE and "单元格却显示为百分数 50%（存为 0.5）" in wrong.message
    assert not [f for f in findings if f.cell == "H6"]


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
