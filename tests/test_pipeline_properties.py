"""Property tests over the whole pipeline: arbitrary cell values and arbitrary text typed into a real
template go through intake → validate → assess → every writer without an exception; every value is
either taken in or reported; every output opens with openpyxl / python-docx.

Characters no workbook can hold literally (C0 controls) are typed the way they arrive in real files,
as ``_xHHHH_`` escapes that every reader decodes. Lone surrogates cannot be stored in a workbook
at all; they reach intake only through file names (tests/test_corpus.py, ``name_not_utf8``) and
are fed to the text cleaner and every writer directly below.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_intake_libreoffice import flatten

import pdreport.collect as collect_mod
from pdreport.assess import assess
from pdreport.collect import ACCEPTED, collect
from pdreport.datatable import render_csv, render_xlsx
from pdreport.demo import fill_template
from pdreport.feedback import build_copy
from pdreport.findings import Code, Finding
from pdreport.intake.clean import clean_text
from pdreport.problems import render_problem_list
from pdreport.report.render import render_report
from pdreport.summary import render_summary

RESPONDENTS = ("fgw", "kangqiao_zhen", "huamu_jd")  # milestones; annex; a street
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    TEXT,
    st.sampled_from(["１２，３４５", "12,345.6", "5.3%", "约6家", "2024年6月30日", "2024/2/30", "是", "否",
                     "推进中", " 已完成 ", "=1+1", "+cmd|' /C calc'!A0", "@SUM(1)", "-2", "{{ 7*7 }}",
                     "{% for x in y %}", "# 标题", "@表格 附件1", "x" * 40_000]),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
)  # fmt: skip


def typed(value):
    """A value as an office could leave it in a cell: control characters as _xHHHH_ escapes."""
    if isinstance(value, str):
        return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value


PIPELINE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])  # fmt: skip


@PIPELINE
@given(data=st.data())
def test_arbitrary_values_through_the_whole_pipeline(plan, demo, tmp_path_factory, monkeypatch, data):
    monkeypatch.setattr(collect_mod, "_RAISE_UNEXPECTED", True)  # a bug must fail, not become a finding
    rid = data.draw(st.sampled_from(RESPONDENTS), label="respondent")
    filled = demo[rid]
    keys = [f.key for f in filled.layout.fields]
    changes = data.draw(st.dictionaries(st.sampled_from(keys), CELL, max_size=8), label="changes")
    values = dict(filled.values)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = typed(value)
    folder = tmp_path_factory.mktemp("prop")
    (folder / "return.xlsx").write_bytes(fill_template(filled, values=values))

    col = collect(plan, folder, "2024H1", workers=1)
    a = assess(plan, col.period, col.submissions, col.findings)

    # every value typed is either taken in or reported on its row
    (outcome,) = col.outcomes
    # every such return is taken in, even one with a date calamine cannot represent (read with
    # openpyxl then, the date reported at its cell)
    assert outcome.status == ACCEPTED, [f.render() for f in col.findings]
    sub = col.submissions[rid]
    got = flatten(sub)
    reported = {_row(f.field) for f in col.findings if f.field} | {_row(f.field) for f in col.findings if f.code is Code.LABEL_CHANGED}
    for key in keys:
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        assert key in got or _row(key) in reported, (key, value, [f.render() for f in col.findings])
    for f in col.findings:  # findings are already safe for every writer
        assert all(not _CONTROL.search(getattr(f, name)) for name in ("message", "value", "hint", "file"))

    # every writer, and every output opens
    openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    openpyxl.load_workbook(io.BytesIO(render_xlsx(col)))
    render_csv(col).decode("utf-8-sig")
    openpyxl.load_workbook(io.BytesIO(render_summary(a, col.outcomes)))
    if sub.has_errors:
        openpyxl.load_workbook(io.BytesIO(build_copy(col, "return.xlsx", col.findings_for("return.xlsx"))))
    docx.Document(io.BytesIO(render_report(a, with_charts=False)))


def _row(key: str) -> str:
    """The row a field key belongs to: ind.X, task.N, annex, header.K."""
    parts = key.split(".")
    return "annex" if parts[0] == "annex" else ".".join(parts[:2])


ANY_TEXT = st.text(max_size=500)  # surrogates and control characters included


@settings(max_examples=200, deadline=None)
@given(text=ANY_TEXT, file=ANY_TEXT)
def test_any_string_is_safe_for_every_writer(text, file):
    """What intake and findings make of any string can be written by openpyxl, xlsxwriter and
    python-docx (each raises on characters XML cannot hold)."""
    cleaned = clean_text(text, 2000)
    f = Finding(Code.TEXT_CLEANED, text, text, file=file, value=text, label=text)
    import xlsxwriter

    wb = openpyxl.Workbook()
    ws = wb.active
    buf = io.BytesIO()
    xw = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    xs = xw.add_worksheet()
    doc = docx.Document()
    for n, s in enumerate((cleaned.text, f.message, f.hint, f.file, f.value, f.label), 1):
        assert not re.search("[\ud800-\udfff]", s)
        ws.cell(n, 1).value = s
        xs.write_string(n, 0, s)
        doc.add_paragraph(s)
        s.encode("utf-8")
    wb.save(io.BytesIO())
    xw.close()
    doc.save(io.BytesIO())
    openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
