"""Returns re-saved by LibreOffice (as .xlsx, .ods and .xls) are taken in with every typed value.

Offices fill the template in Excel, WPS or LibreOffice, and some save as .ods or old .xls. Each
format stores numbers, dates and text differently; intake must give back exactly what was typed.
One LibreOffice start per format converts all the files (starting it is the slow part).
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import SOFFICE, soffice_convert_many

from pdreport.collect import ACCEPTED, collect
from pdreport.demo import demo_values, fill_template
from pdreport.findings import Code

RESPONDENTS = ("jjw", "fgw", "kangqiao_zhen", "huamu_jd", "zhangjiang_glj")
FORMATS = ("xlsx", "ods", "xls")
# text as people type it: quotes, symbols, a line break, a leading "=" (text, never a formula)
NOTES = ("受审批进度影响，完成进度略慢于序时。", "已完成“光伏+”项目 3 个（含 A&B 区），<待验收>。",
         "第一行说明\n第二行说明", "=1+1 为原文照录", "50% 以上已开工；详见附件")  # fmt: skip


def typed_values(filled) -> dict:
    """The demo values with every optional input filled as well, so every field is exercised."""
    values = dict(filled.values)
    for i, f in enumerate(filled.layout.fields):
        if f.key in values:
            continue
        if f.kind == "text":
            values[f.key] = NOTES[i % len(NOTES)]
        elif f.kind == "date" and values.get(f.key.replace(".date", ".done")) == "是":
            values[f.key] = dt.datetime(2024, 5, 1 + i % 28)
    return values


@pytest.fixture(scope="module")
def resaved(plan, tmp_path_factory):
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    period = plan.period("2024H1")
    demo = demo_values(plan, period)
    tmp = tmp_path_factory.mktemp("lo-returns")
    typed, srcs = {}, []
    for rid in RESPONDENTS:
        assert rid in demo, rid
        typed[rid] = typed_values(demo[rid])
        src = tmp / "src" / f"{rid}.xlsx"
        src.parent.mkdir(exist_ok=True)
        src.write_bytes(fill_template(demo[rid], values=typed[rid]))
        srcs.append(src)
    folders = {}
    for fmt in FORMATS:
        soffice_convert_many(srcs, fmt, tmp / fmt)
        folders[fmt] = tmp / fmt
    return demo, typed, folders


def test_fixture_covers_every_kind_of_input(resaved):
    demo, typed, _ = resaved
    keys = [k for rid in RESPONDENTS for k in typed[rid]]
    done = [typed[rid][k] for rid in RESPONDENTS for k in typed[rid] if k.endswith(".done")]
    assert {"是", "否"} <= set(done)  # milestones both done (with a date) and not done
    assert any(k.startswith("annex.") for k in keys) and any(k.endswith(".status") for k in keys)
    statuses = {typed[rid][k] for rid in RESPONDENTS for k in typed[rid] if k.endswith(".status")}
    assert len(statuses) >= 2
    for rid in RESPONDENTS:  # every input of every workbook is typed in
        assert set(typed[rid]) >= {f.key for f in demo[rid].layout.fields if f.kind != "date"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_typed_value_comes_back(plan, resaved, fmt):
    demo, typed, folders = resaved
    col = collect(plan, folders[fmt], "2024H1")
    assert {o.file: o.status for o in col.outcomes} == {f"{rid}.{fmt}": ACCEPTED for rid in RESPONDENTS}
    unexpected = [f.render() for f in col.findings if f.code is not Code.MISSING_SUBMISSION]
    assert unexpected == []
    for rid in RESPONDENTS:
        sub, want = col.submissions[rid], typed[rid]
        assert sub.kind == fmt
        got = flatten(sub)
        expected = {k: normal(v) for k, v in want.items()}
        assert set(got) == set(expected), (rid, set(got) ^ set(expected))
        for key, value in expected.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (fmt, rid, key)
            else:
                assert got[key] == value, (fmt, rid, key, got[key], value)


def normal(value):
    """A typed value as intake should give it back."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def flatten(sub) -> dict:
    """A typed submission as {field key: value}, the keys of the template map; empty → absent."""
    out = {"header.filler": sub.filler, "header.phone": sub.phone, "header.reviewer": sub.reviewer,
           "header.date": sub.filled_on}  # fmt: skip
    for fig in sub.figures:
        out[f"ind.{fig.indicator}.value"] = fig.value
        out[f"ind.{fig.indicator}.note"] = fig.note
    for m in sub.milestones:
        out[f"ind.{m.indicator}.done"] = "是" if m.done else "否"
        out[f"ind.{m.indicator}.date"] = m.date
        out[f"ind.{m.indicator}.note"] = m.note
    for t in sub.tasks:
        for part, text in (("status", t.status), ("progress", t.progress), ("problems", t.problems),
                           ("next", t.next_steps)):  # fmt: skip
            out[f"task.{t.task}.{part}"] = text
    if sub.annex is not None:
        a = sub.annex
        for key in ("energy_base", "energy_current", "output_base", "output_current"):
            out[f"annex.{key}"] = getattr(a, key)
        out["annex.note"] = a.note
    return {k: v for k, v in out.items() if v not in (None, "")}
