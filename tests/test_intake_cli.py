"""Intake never writes to what offices sent, and `pdreport check` answers with 0 / 1 / 2.

Inputs are hashed (sha256) and their times and the folder listing recorded before; after the
library run (collect + 问题清单 + 数据明细 + 退回修改) and after `pdreport intake` (twice, with the
output folder inside the input folder) everything is byte-identical and nothing was added.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
from pathlib import Path

from pdreport.cli import main
from pdreport.collect import collect
from pdreport.datatable import render_csv, render_xlsx
from pdreport.demo import STAMP, fill_template
from pdreport.feedback import write_feedback
from pdreport.outputs import atomic_write_bytes
from pdreport.problems import render_problem_list
from pdreport.template import build_layout, render_workbook


def make_inputs(plan, demo, d: Path) -> None:
    (d / "子目录").mkdir(parents=True)
    bad = dict(demo["jjw"].values, **{"ind.T17-1.value": None, "ind.T18-3.value": "约1300个",
                                      "task.12.status": "进行中"})  # fmt: skip
    (d / "区建交委.xlsx").write_bytes(fill_template(demo["jjw"], values=bad))  # errors → feedback
    (d / "子目录" / "康桥镇.xlsx").write_bytes(fill_template(demo["kangqiao_zhen"]))
    (d / "花木街道.xlsx").write_bytes(fill_template(demo["huamu_jd"]))
    (d / "花木街道-重报.xlsx").write_bytes(fill_template(demo["huamu_jd"]))  # a duplicate
    (d / "坏文件.xlsx").write_bytes(b"PK\x03\x04broken")
    (d / "说明.txt").write_text("见附件", encoding="utf-8")
    q1 = build_layout(plan, plan.respondent("fgw"), plan.period("2024Q1"))
    (d / "区发改委-一季度.xlsx").write_bytes(render_workbook(q1, STAMP))
    for p in d.rglob("*"):
        if p.is_file():  # read-only, as a shared folder often is: intake must not need more
            p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def snapshot(d: Path, skip: Path | None = None) -> dict:
    out = {}
    for p in sorted(d.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        st = p.stat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(d))] = (digest, st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    return out


def call(argv: list[str]) -> int:
    """``pdreport ARGV`` in this process; the exit code (``main`` returns normally on success)."""
    try:
        main(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code
    return 0


def test_library_run_leaves_inputs_byte_identical(plan, demo, tmp_path):
    d = tmp_path / "回收"
    make_inputs(plan, demo, d)
    before = snapshot(d)
    col = collect(plan, d, "2024H1")
    out = tmp_path / "结果"
    atomic_write_bytes(out / "问题清单.xlsx", render_problem_list(col))
    atomic_write_bytes(out / "数据明细.csv", render_csv(col))
    atomic_write_bytes(out / "数据明细.xlsx", render_xlsx(col))
    copies = write_feedback(col, out)
    assert [p.name for p in copies] == ["区建交委_退回修改.xlsx"]
    assert snapshot(d) == before


def test_cli_intake_leaves_inputs_byte_identical(plan, demo, tmp_path, capsys):
    d = tmp_path / "回收"
    make_inputs(plan, demo, d)
    out = d / "汇总结果"  # inside the input folder: excluded from reading
    before = snapshot(d)
    for _ in range(2):  # the second run must not read the first run's outputs
        assert call(["intake", str(d), "--period", "2024H1", "-o", str(out)]) == 0
        assert snapshot(d, skip=out) == before
    text = capsys.readouterr().out
    assert "收到文件         7" in text
    assert (out / "退回修改" / "区建交委_退回修改.xlsx").exists()


def test_python_m_intake_leaves_inputs_byte_identical(plan, demo, tmp_path):
    d = tmp_path / "回收"
    make_inputs(plan, demo, d)
    before = snapshot(d)
    r = subprocess.run([sys.executable, "-m", "pdreport", "intake", str(d), "--period", "2024H1"],
                       capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert snapshot(d) == before
    assert (tmp_path / "回收_汇总" / "问题清单.xlsx").exists()  # default: next to the folder


# -- pdreport check FILE: 0 nothing to fix, 1 warnings only, 2 errors (or unusable) ----------


def run_check(*args) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-m", "pdreport", "check", *map(str, args)],
                       capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert "Traceback" not in r.stderr
    return r.returncode, r.stdout, r.stderr


def in_process(capsys, *args) -> tuple[int, str]:
    code = call(["check", *map(str, args)])
    return code, capsys.readouterr().out


def test_check_exit_codes(plan, demo, tmp_path, capsys):
    jjw = demo["jjw"]
    clean = tmp_path / "clean.xlsx"
    clean.write_bytes(fill_template(jjw))
    warn = tmp_path / "warn.xlsx"
    warn.write_bytes(fill_template(jjw, values=dict(jjw.values, **{"ind.H6.value": "1.2%"})))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(fill_template(jjw, values=dict(jjw.values, **{"ind.T17-1.value": None})))
    q1 = tmp_path / "q1.xlsx"
    q1.write_bytes(render_workbook(build_layout(plan, plan.respondent("jjw"), plan.period("2024Q1")), STAMP))
    text = tmp_path / "说明.txt"
    text.write_text("见附件", encoding="utf-8")

    code, out, _ = run_check(clean)  # one real process: the console script as users run it
    assert code == 0 and "可以报送" in out and "错误 0 条，提醒 0 条" in out
    assert "2024年上半年填报表（报送截止 2024-07-15）" in out and "--period" not in out
    code, out = in_process(capsys, clean, "--period", "2024h1")  # the id in any case
    assert code == 0 and "提醒：" not in out
    # last period's form filled in when this one is due: said, and counted as a 提醒
    old_form = tmp_path / "q1_filled.xlsx"
    q1_values = {k: v for k, v in jjw.values.items() if k in {f.key for f in build_layout(
        plan, plan.respondent("jjw"), plan.period("2024Q1")).fields}}  # fmt: skip
    q1_layout = build_layout(plan, plan.respondent("jjw"), plan.period("2024Q1"))
    old_form.write_bytes(render_workbook(q1_layout, STAMP, q1_values))
    code, out = in_process(capsys, old_form)
    assert code == 1 and "提醒：填报日期为 2024-07-" in out
    assert "这时应报送的是2024年上半年的填报表（截止 2024-07-15），本表是2024年一季度的" in out
    assert "可以报送" in out and "提醒 1 条" in out
    code, _out, err = run_check(clean, "--period", "2024Q5")  # not a period: said before reading
    assert code == 2 and "报送期“2024Q5”不在计划中" in err and "E104" not in _out
    code, out = in_process(capsys, warn)
    assert code == 1 and "W204" in out and "可以报送" in out
    code, out = in_process(capsys, bad)
    assert code == 2 and "E201" in out and "请修改后再报送" in out
    code, out = in_process(capsys, q1, "--period", "2024H1")
    assert code == 2 and "E104" in out
    code, out = in_process(capsys, q1)  # without --period the file's own period is used
    assert code == 2 and "E114" in out and "E201" not in out and "E104" not in out  # a blank Q1 template
    code, out = in_process(capsys, text)
    assert code == 2 and "E001" in out
    code, _out, err = run_check(tmp_path / "没有这个文件.xlsx")
    assert code == 2 and "找不到文件" in err


def test_a_damaged_xls_is_a_finding_with_nothing_on_the_terminal_from_calamine(tmp_path):
    """calamine's .xls reader panics on some damaged files (one byte of the 高桥镇 sample, found by
    fuzzing): the panic is caught, but Rust prints it on stderr first, so an .xls is read in a
    child whose stderr goes nowhere. The finding says so in Chinese, naming no exception class."""
    sample = Path(__file__).resolve().parents[1] / "sample_workbooks" / "2024年上半年_高桥镇_碳达峰碳中和及节能工作进展填报表.xls"
    data = bytearray(sample.read_bytes())
    data[14456] = 0xFF
    damaged = tmp_path / "高桥镇.xls"
    damaged.write_bytes(bytes(data))
    code, out, err = run_check(damaged)
    assert code == 2 and "[E005 文件损坏]" in out and "内部结构已损坏" in out
    assert "panic" not in err and "panic" not in out.lower() and "Exception" not in out
    assert err == ""
