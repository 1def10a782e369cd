"""Corrected 退回修改 copies sent back: a correction, not a duplicate. Real files in tmp_path: returns
filled from the templates, consolidated through the command line, the feedback copies corrected with
openpyxl as an office would, and consolidated again."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest

from pdreport.collect import ACCEPTED, REPLACED, SUPERSEDED, collect
from pdreport.demo import fill_template
from pdreport.feedback import NOTE_HEADER_ROW, NOTE_SHEET, write_feedback
from pdreport.findings import Code
from pdreport.template import build_layout

REPORT = "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年上半年）.docx"


def run(*args):
    return subprocess.run([sys.executable, "-m", "pdreport", *map(str, args)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def field(plan, name: str, key: str):
    return build_layout(plan, plan.find_respondent(name), plan.period("2024H1")).field(key)


def summary_count(stdout: str, label: str) -> int | None:
    for line in stdout.splitlines():
        if line.strip().startswith(label):
            return int(line.strip()[len(label):].split()[0])
    return None


@pytest.fixture(scope="module")
def first_round(plan, tmp_path_factory):
    """Four returns: 区建交委 and 康桥镇 clean, 区科经委 with text in a number cell, 航头镇 without
    its 填报人; 区建交委 sent twice (an ordinary duplicate). Consolidated once: two feedback copies."""
    from pdreport.demo import demo_values

    demo = demo_values(plan, plan.period("2024H1"))
    base = tmp_path_factory.mktemp("resubmit")
    returns = base / "回收表"
    returns.mkdir()
    kjw = dict(demo["kjw"].values, **{"ind.T07-1.value": "约6家"})
    hangtou = dict(demo["hangtou_zhen"].values, **{"header.filler": None})
    (returns / "区科经委.xlsx").write_bytes(fill_template(demo["kjw"], values=kjw))
    (returns / "航头镇.xlsx").write_bytes(fill_template(demo["hangtou_zhen"], values=hangtou))
    (returns / "康桥镇.xlsx").write_bytes(fill_template(demo["kangqiao_zhen"]))
    (returns / "区建交委.xlsx").write_bytes(fill_template(demo["jjw"]))
    older = dict(demo["jjw"].values, **{"header.date": dt.datetime(2024, 7, 2)})
    (returns / "区建交委_初稿.xlsx").write_bytes(fill_template(demo["jjw"], values=older))
    out = base / "第一次汇总"
    r = run("consolidate", returns, "--period", "2024H1", "-o", out)
    assert r.returncode == 0, r.stderr
    copies = sorted(p.name for p in (out / "退回修改").iterdir())
    assert copies == ["区科经委_退回修改.xlsx", "航头镇_退回修改.xlsx"]
    assert summary_count(r.stdout, "重复报送") == 1
    return base, returns, out, r


def correct(plan, copy: Path, dest: Path, filled_on: dt.datetime | None = None) -> Path:
    """What the office does: fill in exactly the cells its copy marks, save, send it back."""
    wb = openpyxl.load_workbook(copy)
    note = wb[NOTE_SHEET]
    marked = [(row[1], row[2]) for row in note.iter_rows(min_row=NOTE_HEADER_ROW + 1, values_only=True) if row[1]]
    for sheet, cell in marked:
        assert wb[sheet][cell].comment is not None  # the copy marks what the note lists
    name = copy.name.split("_")[0]
    key, value = {"区科经委": ("ind.T07-1.value", 6), "航头镇": ("header.filler", "李明")}[name]
    fixes = {(field(plan, name, key).sheet, field(plan, name, key).cell): value}
    assert set(marked) == set(fixes)
    for (sheet, cell), value in fixes.items():
        wb[sheet][cell] = value
    if filled_on is not None:
        date = field(plan, name, "header.date")
        wb[date.sheet][date.cell] = filled_on
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
    return dest


@pytest.fixture(scope="module")
def second_round(plan, first_round):
    """The corrected copies put in beside the original returns (later 填报日期 on 区科经委's)."""
    base, returns, out, _ = first_round
    again = base / "回收表（含更正）"
    shutil.copytree(returns, again)
    correct(plan, out / "退回修改" / "区科经委_退回修改.xlsx", again / "区科经委_退回修改.xlsx",
            dt.datetime(2024, 7, 22))  # fmt: skip
    correct(plan, out / "退回修改" / "航头镇_退回修改.xlsx", again / "更正" / "航头镇_退回修改.xlsx")
    out2 = base / "第二次汇总"
    r = run("consolidate", again, "--period", "2024H1", "-o", out2)
    assert r.returncode == 0, r.stderr
    return again, out2, r


def test_a_corrected_copy_is_a_correction_not_a_duplicate(plan, first_round, second_round):
    _, out, r = second_round
    # the summary: only the real duplicate (区建交委's two ordinary returns) is a duplicate
    assert summary_count(r.stdout, "重复报送") == 1
    assert summary_count(r.stdout, "已由更正稿替换") == 2
    assert summary_count(r.stdout, "收到文件") == 7 and summary_count(r.stdout, "采用") == 4
    assert "（其中有错误需退回 0）" in r.stdout
    assert not (out / "退回修改").exists() or not list((out / "退回修改").iterdir())
    first_warnings = first_round[3].stdout.split("提醒 ")[1].split(" 条")[0]
    assert r.stdout.split("提醒 ")[1].split(" 条")[0] == first_warnings  # no new warning
    assert "错误 0 条" not in r.stdout  # (E108 for the 54 units not in the folder)

    # 问题清单: one W107, on 区建交委's older return; nothing on the replaced originals
    ws = openpyxl.load_workbook(out / "问题清单.xlsx", read_only=True)["问题清单"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    head = rows[0]
    found = [dict(zip(head, row, strict=True)) for row in rows[1:]]
    dups = [f for f in found if f["问题代码"] == Code.DUPLICATE.code]
    assert [f["文件"] for f in dups] == ["区建交委_初稿.xlsx"]
    assert not [f for f in found if f["文件"] in ("区科经委.xlsx", "航头镇.xlsx")]
    assert "已由更正稿替换 2 份" in (ws["A2"].value or "")

    # 汇总表 收到文件: the originals listed as replaced by the corrections, with no problems counted
    wb = openpyxl.load_workbook(out / "汇总表.xlsx", read_only=True)
    files = {row[1]: row for row in wb["收到文件"].iter_rows(min_row=4, values_only=True) if row[1]}
    assert files["区科经委.xlsx"][3] == REPLACED and files["航头镇.xlsx"][3] == REPLACED
    assert files["区科经委.xlsx"][5:7] == (0, 0)
    assert files["区科经委_退回修改.xlsx"][3] == ACCEPTED
    assert files[str(Path("更正") / "航头镇_退回修改.xlsx")][3] == ACCEPTED
    assert files["区建交委_初稿.xlsx"][3] == SUPERSEDED
    stats = {row[0]: row[3] for row in wb["报送情况"].iter_rows(values_only=True) if row[0] and row[3] is not None}
    assert stats["重复报送（未采用）"] == 1 and stats["已由更正稿替换的文件"] == 2

    # the Word report's 表3: no 提醒 for the units that did as they were told, 区建交委's W107 stays
    doc = docx.Document(str(out / REPORT))
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:4] == ["序号", "单位", "类别", "报送情况"])
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in table.rows[1:]}
    assert rows["区科经委"][3] == "已报送" and rows["区科经委"][5:] == ["0", "0"]
    assert rows["航头镇"][3] == "已报送" and rows["航头镇"][5:] == ["0", "0"]
    assert rows["区建交委"][6] == "1"


def test_correction_is_told_by_its_note_sheet_or_its_name(plan, first_round, tmp_path):
    """Renamed, the copy is still a correction by its 退回说明 sheet; with that sheet deleted, by
    its name; with both gone it is an ordinary second return (W107)."""
    _, returns, out, _ = first_round
    copy = out / "退回修改" / "区科经委_退回修改.xlsx"

    def outcome(save) -> dict[str, str]:
        folder = tmp_path / save.__name__
        folder.mkdir()
        shutil.copy(returns / "区科经委.xlsx", folder)
        fixed = correct(plan, copy, tmp_path / "fixed" / f"{save.__name__}.xlsx")
        save(fixed, folder)
        col = collect(plan, folder, "2024H1")
        assert col.submissions["kjw"].file != "区科经委.xlsx"  # the corrected one is used
        return {o.file: o.status for o in col.outcomes}, [f.file for f in col.findings if f.code is Code.DUPLICATE]

    def renamed(fixed, folder):
        shutil.copy(fixed, folder / "科经委上半年报表（修改后）.xlsx")

    def note_deleted(fixed, folder):
        wb = openpyxl.load_workbook(fixed)
        del wb[NOTE_SHEET]
        wb.save(folder / "区科经委_退回修改(1).xlsx")

    def both_gone(fixed, folder):
        wb = openpyxl.load_workbook(fixed)
        del wb[NOTE_SHEET]
        wb.save(folder / "科经委上半年报表（第二次）.xlsx")

    assert outcome(renamed) == ({"区科经委.xlsx": REPLACED, "科经委上半年报表（修改后）.xlsx": ACCEPTED}, [])
    assert outcome(note_deleted) == ({"区科经委.xlsx": REPLACED, "区科经委_退回修改(1).xlsx": ACCEPTED}, [])
    statuses, dups = outcome(both_gone)
    assert statuses["区科经委.xlsx"] == SUPERSEDED and dups == ["区科经委.xlsx"]


def test_correction_beats_its_original_on_the_same_date(plan, first_round, tmp_path):
    """Same 填报日期 (the copy keeps the original's): the correction is used even when the original
    looks newer on disk (a folder copied after the correction was saved)."""
    _, returns, out, _ = first_round
    folder = tmp_path / "回收"
    folder.mkdir()
    fixed = correct(plan, out / "退回修改" / "航头镇_退回修改.xlsx", folder / "航头镇_退回修改.xlsx")
    original = shutil.copy(returns / "航头镇.xlsx", folder / "航头镇.xlsx")
    os.utime(fixed, (1.7e9, 1.7e9))
    os.utime(original, (1.8e9, 1.8e9))
    col = collect(plan, folder, "2024H1")
    assert col.submissions["hangtou_zhen"].file == "航头镇_退回修改.xlsx"
    assert not col.submissions["hangtou_zhen"].has_errors
    assert {o.file: o.status for o in col.outcomes}["航头镇.xlsx"] == REPLACED
    assert col.counts["replaced"] == 1 and col.counts["superseded"] == 0
    assert not write_feedback(col, tmp_path / "out")  # nothing left to send back


def test_on_time_is_judged_by_the_first_return(plan, first_round, second_round):
    """区科经委's first return was dated 2024-07-10 (before the 07-15 deadline); its correction,
    sent back dated 2024-07-22, does not make it late: not in 逾期报送, 是否按时 是."""
    _, out, _ = second_round
    wb = openpyxl.load_workbook(out / "汇总表.xlsx", read_only=True)
    ws = wb["报送情况"]
    rows = {row[1]: row for row in ws.iter_rows(values_only=True) if isinstance(row[0], int)}
    assert rows["区科经委"][4] == "区科经委_退回修改.xlsx"
    assert rows["区科经委"][5].date() == dt.date(2024, 7, 22)  # the date of the return in use
    assert rows["区科经委"][8] == "是"
    stats = {row[0]: row[3] for row in ws.iter_rows(values_only=True) if row[0] and row[3] is not None}
    assert stats["逾期报送"] == 0
    doc = docx.Document(str(out / REPORT))
    assert "逾期" not in "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)


def test_first_return_decides_for_ordinary_returns_too(plan, tmp_path):
    """The earliest usable 填报日期 among a unit's returns of the period: two ordinary returns (on
    time, then a later one) are on time; a lone late return is late; a mistyped date (W213) on the
    earlier return is not used."""
    from pdreport.assess import assess
    from pdreport.demo import demo_values

    demo = demo_values(plan, plan.period("2024H1"))

    def on_time(*dates) -> bool | None:
        folder = tmp_path / "-".join(d.strftime("%Y%m%d") for d in dates)
        folder.mkdir()
        for n, day in enumerate(dates):
            values = dict(demo["jjw"].values, **{"header.date": day})
            (folder / f"区建交委_{n}.xlsx").write_bytes(fill_template(demo["jjw"], values=values))
        col = collect(plan, folder, "2024H1")
        return assess(plan, col.period, col.submissions, col.findings).card("jjw").on_time

    assert on_time(dt.datetime(2024, 7, 10), dt.datetime(2024, 7, 20)) is True
    assert on_time(dt.datetime(2024, 7, 20), dt.datetime(2024, 7, 10)) is True  # (whatever the order)
    assert on_time(dt.datetime(2024, 7, 20)) is False
    assert on_time(dt.datetime(2023, 7, 10), dt.datetime(2024, 7, 20)) is False  # 2023: W213, not used


def note_lines(copy: Path) -> list[str]:
    ws = openpyxl.load_workbook(copy, read_only=True)[NOTE_SHEET]
    return [row[0] for row in ws.iter_rows(max_row=NOTE_HEADER_ROW - 1, values_only=True)]


def test_copies_give_a_real_resubmission_deadline(first_round, tmp_path):
    """By default a week after the report's date (--date, else the period's deadline, 2024-07-15);
    --resubmit-by sets it; stated in the copy and in the command's output; the same arguments give
    the same bytes (never today's date)."""
    _, returns, out, r = first_round
    assert "（重新报送期限 2024-07-22）" in r.stdout
    assert any("重新报送期限：2024年7月22日。" in t for t in note_lines(out / "退回修改" / "航头镇_退回修改.xlsx"))

    dated = run("consolidate", returns, "--period", "2024H1", "-o", tmp_path / "a", "--date", "2024年7月20日")
    assert dated.returncode == 0, dated.stderr
    assert "（重新报送期限 2024-07-27）" in dated.stdout
    assert any("重新报送期限：2024年7月27日。" in t for t in note_lines(tmp_path / "a" / "退回修改" / "航头镇_退回修改.xlsx"))

    for out_dir in ("b", "c"):
        asked = run("consolidate", returns, "--period", "2024H1", "-o", tmp_path / out_dir, "--date", "2024-07-20",
                    "--resubmit-by", "2024/7/29")  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert "（重新报送期限 2024-07-29）" in asked.stdout
    copies = sorted(p.name for p in (tmp_path / "b" / "退回修改").iterdir())
    for name in copies:
        assert any("重新报送期限：2024年7月29日。" in t for t in note_lines(tmp_path / "b" / "退回修改" / name))
        assert (tmp_path / "b" / "退回修改" / name).read_bytes() == (tmp_path / "c" / "退回修改" / name).read_bytes()

    intake = run("intake", returns, "--period", "2024H1", "-o", tmp_path / "d")
    assert intake.returncode == 0 and "（重新报送期限 2024-07-22）" in intake.stdout
    intake = run("intake", returns, "-o", tmp_path / "e", "--resubmit-by", "2024-08-05")
    assert intake.returncode == 0 and "（重新报送期限 2024-08-05）" in intake.stdout
    assert any("重新报送期限：2024年8月5日。" in t for t in note_lines(tmp_path / "e" / "退回修改" / "航头镇_退回修改.xlsx"))


def test_an_impossible_resubmission_deadline_is_refused(first_round, tmp_path):
    _, returns, _, _ = first_round
    for args in (("--period", "2024H1"), ()):  # (said before reading when the period is given)
        r = run("consolidate", returns, *args, "-o", tmp_path / "out", "--resubmit-by", "2024-06-30")
        assert r.returncode == 2 and "重新报送期限 2024-06-30 不晚于本报送期" in r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "out" / "退回修改").exists()
    r = run("intake", returns, "-o", tmp_path / "out", "--resubmit-by", "7月29日")
    assert r.returncode == 2 and "不是有效的日期" in r.stderr


def report_deadline(folder: Path) -> str:
    doc = docx.Document(str(folder / REPORT))
    (line,) = [p.text for p in doc.paragraphs if "重新报送" in p.text and "前重新报送" in p.text]
    return line


def test_a_report_says_the_deadline_its_copies_give(first_round, tmp_path):
    """``report`` after ``intake`` in the same folder says the 重新报送期限 the copies there give,
    whatever its --date; --resubmit-by sets it as for intake, and an impossible one is refused."""
    _, returns, _, _ = first_round
    out = tmp_path / "out"
    assert run("intake", returns, "--period", "2024H1", "-o", out).returncode == 0  # copies: 2024-07-22
    r = run("report", returns, "--period", "2024H1", "-o", out, "--date", "2024-07-20")
    assert r.returncode == 0, r.stderr
    assert "于2024年7月22日前重新报送" in report_deadline(out)
    r = run("report", returns, "--period", "2024H1", "-o", out, "--date", "2024-07-20", "--resubmit-by", "2024-07-29")
    assert r.returncode == 0, r.stderr
    assert "于2024年7月29日前重新报送" in report_deadline(out)
    # other than the copies' (not rewritten by report): said, and the folder still records theirs
    assert "输出文件夹中退回修改表写的是 2024-07-22" in r.stderr
    assert "resubmit_by: 2024-07-22" in (out / ".pdreport-output").read_text(encoding="utf-8")
    r = run("report", returns, "--period", "2024H1", "-o", out, "--date", "2024-07-30")  # theirs, past by then
    assert r.returncode == 0 and "于2024年7月22日前重新报送" in report_deadline(out)
    assert "早于报告成文日期 2024-07-30" in r.stderr
    alone = tmp_path / "alone"  # no copies there: a week after the report's date, as consolidate
    assert run("report", returns, "--period", "2024H1", "-o", alone, "--date", "2024-07-20").returncode == 0
    assert "于2024年7月27日前重新报送" in report_deadline(alone)
    r = run("report", returns, "--period", "2024H1", "-o", tmp_path / "x", "--resubmit-by", "2024-06-30")
    assert r.returncode == 2 and "重新报送期限 2024-06-30 不晚于本报送期" in r.stderr


def test_a_date_before_the_period_ends_gives_no_deadline_within_it(plan):
    """--date 2024-05-01 for the half-year (a typo the command warns of): the copies' default
    deadline is a week after the period's end, never a day the period has not reached."""
    from pdreport.feedback import resubmit_deadline

    h1 = plan.period("2024H1")
    assert resubmit_deadline(h1, dt.date(2024, 5, 1)) == dt.date(2024, 7, 7)
    assert resubmit_deadline(h1, dt.date(2024, 7, 20)) == dt.date(2024, 7, 27)
    assert resubmit_deadline(h1) == dt.date(2024, 7, 22)
