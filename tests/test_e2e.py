"""The whole cycle through the command line, on real files: templates → fill → consolidate."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from helpers import SOFFICE, soffice_convert
from xlsxwriter.utility import xl_cell_to_rowcol

from pdreport.demo import sample_defects
from pdreport.template.layout import META
from pdreport.template.metadata import parse_metadata

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_workbooks"
REPORT = "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年上半年）.docx"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pdreport", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)  # fmt: skip


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def report_text(path: Path) -> str:
    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join(parts)


def findings(out: Path) -> list[dict]:
    ws = openpyxl.load_workbook(out / "问题清单.xlsx", read_only=True)["问题清单"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    head = rows[0]
    return [dict(zip(head, r, strict=True)) for r in rows[1:]]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cycle") / "汇总结果"
    before = hashes(SAMPLES)
    r = run("consolidate", SAMPLES, "--period", "2024H1", "-o", out, "--date", "2024-07-20")
    return r, out, before


def test_sample_workbooks_consolidate(sample_run):
    r, out, before = sample_run
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for name in ("汇总表.xlsx", "问题清单.xlsx", "数据明细.csv", "数据明细.xlsx", "评估结果.json", REPORT):
        assert (out / name).is_file(), name
    assert "催报名单：东明路街道" in r.stdout
    assert hashes(SAMPLES) == before  # inputs untouched


def test_every_documented_defect_is_found(sample_run, plan):
    _, out, _ = sample_run
    rows = findings(out)
    for d in sample_defects(plan):
        if not d.code:
            continue
        hits = [f for f in rows if f["问题代码"] == d.code and (d.respondent in (f["填报单位"] or "")
                                                              or d.file and d.file in (f["文件"] or ""))]  # fmt: skip
        assert hits, f"{d.respondent} {d.code} not reported"
    copies = sorted(p.name for p in (out / "退回修改").iterdir())
    assert copies == sorted(f"{n}_退回修改.xlsx" for n in ("区科经委", "康桥镇", "航头镇"))


def test_sample_report_and_summary_agree(sample_run, plan):
    _, out, _ = sample_run
    snap = json.loads((out / "评估结果.json").read_text(encoding="utf-8"))
    text = report_text(out / REPORT)
    pv = snap["indicators"]["T05-1"]["value"]
    assert f"新增光伏装机容量：{pv:g}万千瓦" in text
    assert "区建交委" in text and "（初稿）" not in text  # the newer of the two returns counts
    assert snap["annex"]["kangqiao_zhen"]["status"] == "数据有误"  # its edited row is not used


def test_rerun_is_identical(sample_run, tmp_path):
    _, out, _ = sample_run
    again = tmp_path / "again"
    r = run("consolidate", SAMPLES, "--period", "2024H1", "-o", again, "--date", "2024-07-20")
    assert r.returncode == 0
    assert (again / "评估结果.json").read_bytes() == (out / "评估结果.json").read_bytes()
    assert report_text(again / REPORT) == report_text(out / REPORT)
    r = run("consolidate", SAMPLES, "--period", "2024H1", "-o", again, "--date", "2024-07-20")
    assert r.returncode == 0 and sorted(p.name for p in again.iterdir()) == sorted(p.name for p in out.iterdir())
    assert (again / ".pdreport-output").is_file()  # the marker that keeps it out of any intake


# -- templates → typed figures → outputs ------------------------------------------------------

TYPED = {  # respondent → {field key: value}
    "区建交委": {"ind.T13-1.value": 63.5, "ind.H5.value": 6.25, "ind.T17-1.value": 230,
             "task.13.status": "推进中", "task.13.progress": "完成既有建筑节能改造63.5万平方米。"},
    "区发改委": {"ind.T05-1.value": 8.2, "ind.H1.value": 5.4},
    "金桥管理局": {"annex.energy_base": 1000, "annex.energy_current": 960, "annex.output_base": 50000,
              "annex.output_current": 51000},
    "金桥镇": {"annex.energy_base": 200, "annex.energy_current": 190, "annex.output_base": 8000,
            "annex.output_current": 8000},
}


def fill(path: Path, values: dict) -> None:
    """Type values into a generated template through its own field map, as an office would."""
    from python_calamine import CalamineWorkbook

    meta = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(META).to_python(skip_empty_area=False)
    fields = {f.key: f for f in parse_metadata(meta).fields}
    wb = openpyxl.load_workbook(path)
    for f in fields.values():  # every required input gets something plausible
        if f.required and f.key not in values:
            values = {**values, f.key: {"number": 1, "choice": f.choices[1] if f.choices else "推进中",
                                        "date": dt.datetime(2024, 7, 10)}.get(f.kind, "已按计划推进。")}  # fmt: skip
    for key, value in values.items():
        f = fields[key]
        row, col = xl_cell_to_rowcol(f.cell)
        wb[f.sheet].cell(row + 1, col + 1).value = value
    wb.save(path)


def test_typed_figures_reach_report_and_summary(tmp_path):
    tpl = tmp_path / "填报表"
    r = run("templates", "--period", "2024H1", "--only", *TYPED, "-o", tpl)
    assert r.returncode == 0, r.stderr
    returns = tmp_path / "回收表"
    returns.mkdir()
    for name, values in TYPED.items():
        src = next(tpl.glob(f"*_{name}_*.xlsx"))
        fill(src, values)
        shutil.copy(src, returns / src.name)
    if SOFFICE:  # one office saves through LibreOffice (as WPS/LibreOffice users do)
        src = next(returns.glob("*_金桥镇_*.xlsx"))
        converted = soffice_convert(src, "ods", tmp_path / "lo")
        src.unlink()
        shutil.copy(converted, returns / converted.name)
    out = tmp_path / "out"
    r = run("consolidate", returns, "--period", "2024H1", "-o", out)
    assert r.returncode == 0, r.stderr
    text = report_text(out / REPORT)
    assert "既有建筑节能改造面积：63.5万平方米，年度目标不少于100万平方米，序时目标50万平方米" in text
    assert "新增光伏装机容量：8.2万千瓦" in text
    assert "区建交委（推进中）：完成既有建筑节能改造63.5万平方米。" in text
    # annex: 金桥管理局 includes 金桥镇 — (1 - (1150/59000)/(1200/58000)) × 100
    rate = (1 - (1150 / 59000) / (1200 / 58000)) * 100
    snap = json.loads((out / "评估结果.json").read_text(encoding="utf-8"))
    assert snap["annex"]["jinqiao_glj"]["rate"] == pytest.approx(rate, abs=1e-3)
    assert f"{rate:.2f}" in text
    summary = openpyxl.load_workbook(out / "汇总表.xlsx")
    values = [c for ws in summary.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    assert 63.5 in values and 8.2 in values and 230 in values


def retype(path: Path, values: dict) -> None:
    """Change cells of a filled return through its own field map, leaving the rest as it was."""
    from python_calamine import CalamineWorkbook

    meta = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(META).to_python(skip_empty_area=False)
    fields = {f.key: f for f in parse_metadata(meta).fields}
    wb = openpyxl.load_workbook(path)
    for key, value in values.items():
        row, col = xl_cell_to_rowcol(fields[key].cell)
        wb[fields[key].sheet].cell(row + 1, col + 1).value = value
    wb.save(path)


def test_a_lead_figure_in_the_wrong_unit_is_not_reported_done(tmp_path):
    """区建交委 types 52200 (平方米) for 5.22 万平方米 and 区发改委 43.2 for a 4.32 % fall: read as
    they stand both would be 已完成/序时推进. The report's 表1 says 数据有误 and the text says
    which figure to check; 汇总表 keeps the figure as typed; ``check`` asks to verify first."""
    returns = tmp_path / "回收表"
    shutil.copytree(SAMPLES, returns)
    for p in returns.glob("*_区建交委_*.xlsx"):  # (the first return and its later one)
        retype(p, {"ind.H5.value": 52200, "ind.T13-1.value": 750000})
    fgw = next(returns.glob("*_区发改委_*.xlsx"))
    retype(fgw, {"ind.H1.value": 43.2})
    out = tmp_path / "out"
    r = run("consolidate", returns, "--period", "2024H1", "-o", out, "--date", "2024-07-20")
    assert r.returncode == 0, r.stderr
    doc = docx.Document(str(out / REPORT))
    table1 = {row.cells[0].text: [c.text for c in row.cells] for row in doc.tables[0].rows}
    assert table1["1"][-2:] == ["同比下降43.2%（待核实）", "数据有误"]
    assert table1["5"][-2:] == ["52200万平方米（待核实）", "数据有误"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "牵头单位填报值52200是年度目标（10万平方米）的5220倍，数值明显不合理，未作评估，请核对" in text
    assert "牵头单位填报值43.2（即同比下降43.2%）是年度目标（下降5.3%）的8倍" in text
    assert ("既有建筑节能改造面积：750000万平方米（待核实），年度目标不少于100万平方米，序时目标50万平方米，数据有误。"
            "牵头单位填报值750000是年度目标（100万平方米）的7500倍，数值明显不合理，未作评估，请核对。") in text
    # a warning, so no 退回修改 copy: the report asks the two offices to verify, naming the items
    assert ("是核实存疑数据。请区发改委（单位增加值综合能耗同比下降率）、区建交委（建筑节能改造面积（节能率不低于15%）、"
            "既有建筑节能改造面积）核实填报数") in text
    summary = openpyxl.load_workbook(out / "汇总表.xlsx", read_only=True)
    rows = [r for r in summary["指标明细"].iter_rows(values_only=True) if r and "区建交委" in r and 52200 in r]
    assert rows and "数据有误" in rows[0]
    tasks = [c for r in summary["重点任务"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any("既有建筑节能改造面积：750000万平方米（待核实）" in c for c in tasks)
    r = run("check", fgw, "--period", "2024H1")
    assert r.returncode == 1 and "W205" in r.stdout and "请逐条核实以上提醒" in r.stdout


def test_nothing_usable_exits_non_zero(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "通知.xlsx").write_text("not a workbook", encoding="utf-8")
    r = run("consolidate", folder, "--period", "2024H1", "-o", tmp_path / "out")
    assert r.returncode == 2
    assert "没有可采用的填报表" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "out" / "问题清单.xlsx").is_file()


def test_consolidating_the_templates_folder_asks_for_the_returns_folder(tmp_path):
    """The coordinator points consolidate at the folder ``templates`` wrote (blank templates and
    分发清单.xlsx): nothing is 采用, every office is chased, and the message asks about the folder."""
    tpl = tmp_path / "填报表"
    r = run("templates", "--period", "2024H1", "--only", "区建交委", "金桥镇", "花木街道", "-o", tpl)
    assert r.returncode == 0, r.stderr
    r = run("consolidate", tpl, "--period", "2024H1", "-o", tmp_path / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "收到的文件中有 3 份是未填写任何内容的空白填报表。是否选错了文件夹？" in r.stderr
    for line in (r"无法采用\s+3\s+（其中空表 3，未填写任何内容）", r"分发清单\s+1\s+（", r"采用\s+0\s", r"未报送单位\s+58 / 58"):
        assert re.search(line, r.stdout), line
    rows = findings(tmp_path / "out")
    assert sorted(f["问题代码"] for f in rows if f["文件"]) == ["E114"] * 3  # (分发清单: no problem)


def test_previous_period_comparison(tmp_path, sample_run):
    _, out_h1, _ = sample_run
    q3 = tmp_path / "q3"
    assert run("demo-data", "--period", "2024Q3", "-o", q3).returncode == 0
    out = tmp_path / "out"
    r = run("consolidate", q3, "--period", "2024Q3", "-o", out, "--previous", out_h1)
    assert r.returncode == 0, r.stderr
    report = out / "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年前三季度）.docx"
    assert "较上期" in report_text(report) and "注：本报告中的“上期”均指2024年上半年。" in report_text(report)
    bad = run("consolidate", q3, "--period", "2024Q3", "-o", out, "--previous", tmp_path)
    assert bad.returncode == 2 and "找不到上期评估结果" in bad.stderr


@pytest.mark.parametrize("command", ["", "plan", "templates", "intake", "check", "assess", "report",
                                     "consolidate", "demo-data"])  # fmt: skip
def test_help_is_chinese_with_examples(command):
    r = run(*([command] if command else []), "--help")
    assert r.returncode == 0
    assert "示例" in r.stdout or "常用命令" in r.stdout


def test_the_demo_year_hangs_together(plan):
    """Demo returns for the four periods of a year read like one office's year: a figure counted
    since 1 January never falls, a milestone once done stays done on the same date (never dated
    after its period), the annex figures grow; the half-year is drawn on its own (the bundled
    samples and the README's excerpt are the 2024H1 demo)."""
    from pdreport.demo import _drawn, demo_values
    from pdreport.plan.model import Accumulation

    periods = sorted(plan.periods, key=lambda p: p.end)
    years = [demo_values(plan, p) for p in periods]
    h1 = plan.period("2024H1")
    assert {r: f.values for r, f in years[periods.index(h1)].items()} == {
        r: f.values for r, f in _drawn(plan, h1, 2024).items()}
    cumulative = {i.id for i in plan.indicators if i.accumulation is Accumulation.CUMULATIVE}
    annex = ("annex.energy_base", "annex.output_base", "annex.energy_current", "annex.output_current")
    for period, values in zip(periods, years, strict=True):
        for f in values.values():
            dates = [v for k, v in f.values.items() if k.startswith("ind.") and k.endswith(".date")]
            assert all(d.date() <= period.end for d in dates), period.id
    for before, after in zip(years, years[1:], strict=False):
        for rid, f in before.items():
            v, w = f.values, after[rid].values
            for key, value in v.items():
                if key.startswith("ind.") and key.endswith(".value") and key.split(".")[1] in cumulative:
                    assert w[key] >= value, (rid, key)
                if key.endswith(".done") and value == "是":
                    date = key.removesuffix(".done") + ".date"
                    assert w[key] == "是" and w[date] == v[date], (rid, key)
            assert all(w[k] >= v[k] for k in annex if k in v), rid
