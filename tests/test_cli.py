"""Every CLI command invoked as a user would: a real process, real files in tmp_path."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from pdreport.plan.load import default_plan_path


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "pdreport", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_plan_text_outline():
    r = run("plan")
    assert r.returncode == 0, r.stderr
    assert "重点任务 34 项（9 个板块）" in r.stdout
    assert "（九）加强节能管理和基础能力建设" in r.stdout
    assert "T05-1 新增光伏装机容量：不少于15万千瓦" in r.stdout


def test_plan_json_is_complete_and_stable():
    r = run("plan", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["counts"]["tasks"] == 34 and data["counts"]["headline"] == 8
    assert len(data["annex"]["units"]) == 30
    assert list(data)[:4] == ["id", "version", "year", "title"]
    assert run("plan", "--format", "json").stdout == r.stdout  # deterministic


def test_plan_check_ok_and_broken(tmp_path):
    good = run("plan", "--check", str(default_plan_path()))
    assert good.returncode == 0 and "检查通过" in good.stdout
    broken = tmp_path / "2025.yaml"
    broken.write_text(
        default_plan_path().read_text(encoding="utf-8").replace("lead: 区科经委", "lead: 区科委", 1),
        encoding="utf-8",
    )
    r = run("plan", "--check", str(broken))
    assert r.returncode == 2
    assert "未知的部门或单位“区科委”" in r.stderr and "2025.yaml:" in r.stderr
    assert "Traceback" not in r.stderr


def test_plan_check_missing_file(tmp_path):
    r = run("plan", "--check", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "找不到计划文件" in r.stderr and "Traceback" not in r.stderr


def test_help_is_chinese():
    r = run("--help")
    assert r.returncode == 0 and "碳达峰碳中和" in r.stdout
    assert "查看或检查计划文件" in run("plan", "--help").stdout


# -- nothing a user keeps is overwritten or read back -------------------------------------------

from pathlib import Path  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "sample_workbooks"
TANG = "2024年上半年_唐镇_碳达峰碳中和及节能工作进展填报表.xlsx"


def test_templates_never_replace_a_file_without_overwrite(tmp_path):
    out = tmp_path / "回收表"
    out.mkdir()
    (out / TANG).write_bytes(b"a filled return")  # same name as the form sent out
    r = run("templates", "--period", "2024H1", "--only", "唐镇", "-o", str(out))
    assert r.returncode == 2 and "已有同名文件 1 个" in r.stderr and "--overwrite" in r.stderr
    assert (out / TANG).read_bytes() == b"a filled return" and sorted(p.name for p in out.iterdir()) == [TANG]
    r = run("templates", "--period", "2024H1", "--only", "唐镇", "-o", str(out), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert (out / TANG).read_bytes()[:2] == b"PK"


def test_templates_name_the_lists_the_plan_presumed(tmp_path):
    """The notice gives tasks to "相关镇" and "相关管理局（管委会）" without naming them: the plan's
    lists are presumed, so `templates` names who got which task, for whose forms it wrote."""
    r = run("templates", "--period", "2024H1", "--only", "高桥镇", "唐镇", "-o", str(tmp_path / "a"))
    assert r.returncode == 0 and "提醒：通知没有列出以下名单" in r.stderr, r.stderr
    assert "  相关镇（任务6）：高桥镇、高东镇、老港镇、书院镇、南汇新城镇、泥城镇" in r.stderr.splitlines()
    assert "相关管理局" not in r.stderr  # (no form for one of its members was written)
    r = run("templates", "--period", "2024H1", "--only", "唐镇", "-o", str(tmp_path / "b"))
    assert r.returncode == 0 and "通知没有列出" not in r.stderr


def test_templates_remind_the_coordinator_when_the_plan_gives_no_contact(tmp_path):
    """The notice names no contact person, phone or e-mail, so the bundled plan has none and the
    forms only say where to send them: `templates` says so, and how to add them."""
    import openpyxl

    r = run("templates", "--period", "2024H1", "--only", "唐镇", "-o", str(tmp_path / "a"))
    assert r.returncode == 0 and "提醒：计划中没有联系人、电话和邮箱" in r.stderr, r.stderr
    assert "contact" in r.stderr and str(default_plan_path()) in r.stderr and "--plan" in r.stderr
    assert "提醒" not in r.stdout

    def last_instruction(folder):
        rows = openpyxl.load_workbook(folder / TANG)["填报说明"].iter_rows(min_col=2, max_col=2, values_only=True)
        return [v for (v,) in rows if isinstance(v, str) and v[:1].isdigit()][-1]

    assert last_instruction(tmp_path / "a").endswith("填好后报送浦东新区碳达峰碳中和工作领导小组办公室（区发改委）。")
    text = default_plan_path().read_text(encoding="utf-8")
    given = "person: 张三, phone: 021-58788888, email: tanfeng@example.cn"
    assert text.count("person: '', phone: '', email: ''") == 1
    plan = tmp_path / "2024.yaml"
    plan.write_text(text.replace("person: '', phone: '', email: ''", given), encoding="utf-8")
    r = run("templates", "--plan", str(plan), "--period", "2024H1", "--only", "唐镇", "-o", str(tmp_path / "b"))
    assert r.returncode == 0 and "提醒" not in r.stderr, r.stderr
    assert last_instruction(tmp_path / "b").endswith(
        "（区发改委），联系人：张三，电话：021-58788888，邮箱：tanfeng@example.cn。")


def test_demo_data_never_writes_into_a_folder_with_files(tmp_path):
    out = tmp_path / "real"
    out.mkdir()
    (out / "区发改委.xlsx").write_bytes(b"a real return")
    r = run("demo-data", "-o", str(out))
    assert r.returncode == 2 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    assert [p.name for p in out.iterdir()] == ["区发改委.xlsx"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = run("demo-data", "-o", str(blocker / "demo"))  # cannot be written
    assert r.returncode == 3 and r.stderr.startswith("错误：无法写入输出目录") and "Traceback" not in r.stderr


def test_output_folder_is_never_read_as_returns(tmp_path):
    import shutil

    folder = tmp_path / "回收表"
    shutil.copytree(SAMPLES, folder)
    before = sorted(p.name for p in folder.iterdir())
    r = run("consolidate", str(folder), "--period", "2024H1", "-o", str(folder))
    assert r.returncode == 2 and "输出目录不能就是填报表文件夹" in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # not even a marker
    first = run("consolidate", str(folder), "--period", "2024H1", "-o", str(folder / "汇总结果"))
    assert first.returncode == 0, first.stderr
    shutil.copytree(folder / "汇总结果", folder / "上次的结果")  # an earlier output folder, moved in
    again = run("consolidate", str(folder), "--period", "2024H1", "-o", str(tmp_path / "新结果"))
    assert again.returncode == 0, again.stderr
    counts = [line for line in again.stdout.splitlines() if line.startswith("  ")][:6]
    assert counts == [line for line in first.stdout.splitlines() if line.startswith("  ")][:6]
    assert "没有读取子文件夹 上次的结果、汇总结果：其中有标记文件 .pdreport-output" in again.stdout  # said, not silent
    assert "没有读取子文件夹" not in first.stdout  # (its own output folder, inside: no news)
    r = run("consolidate", str(folder / "上次的结果"), "--period", "2024H1", "-o", str(tmp_path / "x"))
    assert r.returncode == 2 and "是 pdreport 的输出文件夹" in r.stderr
    assert f"删除标记文件 {folder / '上次的结果' / '.pdreport-output'}" in r.stderr  # named, and how to undo it


def test_previous_must_be_an_earlier_period(tmp_path):
    h1 = tmp_path / "上半年"
    assert run("consolidate", str(SAMPLES), "--period", "2024H1", "-o", str(h1)).returncode == 0
    r = run("consolidate", str(SAMPLES), "--period", "2024H1", "-o", str(tmp_path / "again"), "--previous", str(h1))
    assert r.returncode == 2 and "不早于本期" in r.stderr
    r = run("assess", str(SAMPLES), "--period", "2024Q1", "-o", str(tmp_path / "q1"), "--previous", str(h1))
    assert r.returncode == 2 and "不早于本期" in r.stderr


def test_a_partial_command_says_which_outputs_it_left_as_they_were(tmp_path):
    """report (or intake, assess) into a folder consolidate filled updates only its own files: the
    others are named, with what to run to update them all; consolidate itself says nothing."""
    out = tmp_path / "out"
    r = run("consolidate", str(SAMPLES), "--period", "2024H1", "-o", str(out))
    assert r.returncode == 0 and "本次未更新" not in r.stdout
    r = run("report", str(SAMPLES), "--period", "2024H1", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "提醒：输出文件夹中的 问题清单.xlsx、数据明细.csv、数据明细.xlsx 等 6 项是此前生成的，本次未更新" in r.stdout
    assert "pdreport consolidate" in r.stdout
    r = run("intake", str(SAMPLES), "--period", "2024H1", "-o", str(out))
    assert "提醒：输出文件夹中的 汇总表.xlsx、评估结果.json、浦东新区" in r.stdout and "退回修改 " not in r.stdout
    r = run("report", str(SAMPLES), "--period", "2024H1", "-o", str(tmp_path / "new"))
    assert r.returncode == 0 and "本次未更新" not in r.stdout


def test_report_date_as_people_write_it(tmp_path):
    from docx import Document

    for text in ("2024年7月20日", "2024/7/20"):
        out = tmp_path / text.replace("/", "-")
        r = run("report", str(SAMPLES), "--period", "2024H1", "-o", str(out), "--date", text)
        assert r.returncode == 0, r.stderr
        [docx] = out.glob("*.docx")
        assert "2024年7月20日" in "\n".join(p.text for p in Document(str(docx)).paragraphs)
    r = run("report", str(SAMPLES), "--period", "2024H1", "-o", str(tmp_path / "bad"), "--date", "2024/13/20")
    assert r.returncode == 2 and "请按 2024-07-20 的格式填写" in r.stderr and "does not match" not in r.stderr


def test_an_unknown_period_fails_before_reading_and_leaves_no_folder(tmp_path):
    out = tmp_path / "汇总"
    r = run("consolidate", str(SAMPLES), "--period", "2024H3", "-o", str(out))
    assert r.returncode == 2 and "不在计划中" in r.stderr and not out.exists()


def test_demo_data_for_another_years_plan(tmp_path):
    """Next year's plan renames a department and drops a town: sample returns are still written,
    with the defects whose unit is gone left out and named."""
    text = default_plan_path().read_text(encoding="utf-8")
    text = text.replace("2025-", "2026-").replace("2024-", "2025-").replace("id: 2024", "id: 2025")
    text = text.replace("label: 2024", "label: 2025")  # (a period naming 2024 in a 2025 plan is refused)
    text = text.replace("区建交委", "区建设交通委")
    text = text.replace("year: 2024", "year: 2025")
    plan = tmp_path / "pudong-2025.yaml"
    plan.write_text(text, encoding="utf-8")
    r = run("plan", "--check", str(plan))
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "returns"
    r = run("demo-data", "--plan", str(plan), "--period", "2025H1", "-o", str(out))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "示例问题未设置" in r.stdout and "区建交委" in r.stdout
    r = run("consolidate", str(out), "--plan", str(plan), "-o", str(tmp_path / "out"))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_demo_data_follows_a_renamed_unit_and_the_plans_unit(tmp_path, monkeypatch):
    """Next year's plan renames 区科经委 (keeping the old name as an alias) and counts solar power
    in 兆瓦: the demo still plants 区科经委's defect (found by its alias), 祝桥镇's slip is 千瓦 typed
    for 兆瓦 and described so, and the files are dated in the plan's year."""
    import zipfile

    from python_calamine import CalamineWorkbook

    from pdreport.demo import demo_stamp, sample_defects, write_samples
    from pdreport.plan.load import parse_plan

    text = default_plan_path().read_text(encoding="utf-8")
    text = text.replace("2025-", "2026-").replace("2024-", "2025-").replace("id: 2024", "id: 2025")
    text = text.replace("label: 2024", "label: 2025").replace("year: 2024", "year: 2025")
    text = text.replace("{id: kjw, name: 区科经委,", "{id: kjw, name: 区科技经济委, aliases: [区科经委],")
    t05 = "quote: 年内新增光伏装机容量15万千瓦以上\n      target: 15\n      unit: 万千瓦\n"
    assert text.count(t05) == 1
    text = text.replace(t05, "quote: 年内新增光伏装机容量150兆瓦以上\n      target: 150\n      unit: 兆瓦\n")
    plan = parse_plan(text)
    period = plan.period("2025H1")
    monkeypatch.setattr("shutil.which", lambda *_: None)  # (no LibreOffice: .xls/.ods left out)
    samples = write_samples(plan, period, tmp_path / "returns")
    skipped = {d.respondent for d in samples.skipped}
    assert skipped == {"高桥镇", "花木街道"}, skipped  # 区科经委 and 祝桥镇 are planted
    zhuqiao = next(d.what for d in sample_defects(plan) if d.respondent == "祝桥镇")
    assert zhuqiao.startswith("按千瓦而不是兆瓦填报：新增光伏装机填为 3000（应为 3），")
    assert "万千瓦" not in zhuqiao
    files = {f.name: f for f in samples.files}
    kjw = files["2025年上半年_区科技经济委_碳达峰碳中和及节能工作进展填报表.xlsx"]
    assert any("约6家" in row for row in CalamineWorkbook.from_path(str(kjw)).get_sheet_by_name("指标").to_python())
    assert demo_stamp(period).isoformat() == "2025-06-20T09:00:00"
    with zipfile.ZipFile(files["区统计局_情况说明.docx"]) as z:
        core = z.read("docProps/core.xml").decode()
    assert "2025-06-20T09:00:00Z" in core and "2024-" not in core
    with zipfile.ZipFile(kjw) as z:
        assert "<dcterms:created" in (core := z.read("docProps/core.xml").decode()) and "2025-06-20T09:00:00Z" in core


def test_a_plan_that_fails_to_load_leaves_no_chart_child(tmp_path):
    """consolidate forks the report's chart child before it reads the plan: a plan that does not
    load must not leave that child behind."""
    import multiprocessing

    from click.testing import CliRunner

    from pdreport.cli import cli

    bad = tmp_path / "坏计划.yaml"
    bad.write_text("id: [", encoding="utf-8")
    r = CliRunner().invoke(cli, ["consolidate", str(SAMPLES), "--plan", str(bad), "-o", str(tmp_path / "o")])
    assert r.exit_code != 0 and "计划文件" in str(r.exception)  # (main() turns it into exit code 2)
    assert multiprocessing.active_children() == []


# -- a file given as --plan that is no plan: plain Chinese, never an exception's name ---------

ENGLISH_EXCEPTION = re.compile(r"[A-Z]\w*(Error|Exception|Warning)\b|Traceback")
NOT_A_PLAN = {
    "通知.docx": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xdf\xa4\xd2lZ\x01\x00\x00 \x05", "不是文本文件"),
    "截图.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe", "不是文本文件"),
    "记事本Unicode.yaml": ("plan:\n  id: x\n".encode("utf-16"), "不是 UTF-8 编码的文本"),
    "GBK.yaml": ("plan:\n  title: 浦东新区\n".encode("gbk"), "不是 UTF-8 编码的文本"),
    "空.yaml": (b"", "计划文件中没有内容"),
    "列表.yaml": (b"- plan\n- periods\n", "现在是一个列表"),
    "控制字符.yaml": (b"plan:\n  id: \x00x\n", "不允许出现的控制字符（U+0000）"),
}


@pytest.mark.parametrize("name", NOT_A_PLAN)
def test_a_file_that_is_no_plan_is_said_so_in_chinese(tmp_path, name):
    content, said = NOT_A_PLAN[name]
    plan = tmp_path / name
    plan.write_bytes(content)
    r = run("check", str(SAMPLES / "2024年上半年_区发改委_碳达峰碳中和及节能工作进展填报表.xlsx"), "--plan", str(plan))
    assert r.returncode == 2 and said in r.stderr, r.stderr
    assert not ENGLISH_EXCEPTION.search(r.stdout + r.stderr), r.stderr
    if "文本" in said:
        assert "计划文件应为 .yaml" in r.stderr


def test_every_command_taking_a_plan_says_a_docx_is_no_plan(tmp_path):
    plan = tmp_path / "通知.docx"
    plan.write_bytes(NOT_A_PLAN["通知.docx"][0])
    out = str(tmp_path / "out")
    commands = [
        ("plan", "--plan", str(plan)), ("plan", "--check", str(plan)),
        ("templates", "--plan", str(plan), "--period", "2024H1", "-o", out),
        ("check", str(SAMPLES / "2024年上半年_区发改委_碳达峰碳中和及节能工作进展填报表.xlsx"), "--plan", str(plan)),
        ("intake", str(SAMPLES), "--plan", str(plan), "--period", "2024H1", "-o", out),
        ("assess", str(SAMPLES), "--plan", str(plan), "--period", "2024H1", "-o", out),
        ("report", str(SAMPLES), "--plan", str(plan), "--period", "2024H1", "-o", out),
        ("consolidate", str(SAMPLES), "--plan", str(plan), "--period", "2024H1", "-o", out),
        ("demo-data", "--plan", str(plan), "--period", "2024H1", "-o", out),
    ]  # fmt: skip
    for args in commands:
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "计划文件不是文本文件（可能选错了文件" in r.stderr, (args, r.stderr)
        assert not ENGLISH_EXCEPTION.search(r.stdout + r.stderr), (args, r.stderr)


def test_an_unquoted_date_that_does_not_exist_is_located_not_a_traceback(tmp_path):
    text = default_plan_path().read_text(encoding="utf-8")
    assert "deadline: '2024-12-31'" in text
    plan = tmp_path / "2024.yaml"
    plan.write_text(text.replace("deadline: '2024-12-31'", "deadline: 2024-02-30", 1), encoding="utf-8")
    r = run("plan", "--check", str(plan))
    assert r.returncode == 2 and "日期“2024-02-30”不存在（该月没有这一天）" in r.stderr, r.stderr
    assert ".deadline：" in r.stderr and "2024.yaml:" in r.stderr
    assert not ENGLISH_EXCEPTION.search(r.stdout + r.stderr), r.stderr


# -- small folders of returns, for the tests below ----------------------------------------------

import hashlib  # noqa: E402
import shutil  # noqa: E402

Q3_REPORT = "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年前三季度）.docx"
H1_REPORT = "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年上半年）.docx"


@pytest.fixture(scope="module")
def small(plan, tmp_path_factory):
    """Three offices' clean returns for 2024H1 and for 2024Q3, one office's for 2024Q1 (folders
    shared by the tests below: copy one before changing it)."""
    from pdreport.demo import demo_values, fill_template

    root = tmp_path_factory.mktemp("small")
    folders = {}
    for pid, rids in (("2024H1", ("jjw", "kangqiao_zhen", "huamu_jd")), ("2024Q3", ("jjw", "kangqiao_zhen")),
                      ("2024Q1", ("fgw",))):  # fmt: skip
        values = demo_values(plan, plan.period(pid))
        folder = folders[pid] = root / pid
        folder.mkdir()
        for rid in rids:
            (folder / f"{rid}.xlsx").write_bytes(fill_template(values[rid]))
    return folders


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, hidden ones included, with its sha256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


# -- an output folder holds one period's results, and never anybody's returns -----------------


def test_another_periods_results_are_never_replaced_silently(small, tmp_path):
    out = tmp_path / "上半年汇总"
    r = run("consolidate", small["2024H1"], "--period", "2024H1", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "period: 2024H1" in (out / ".pdreport-output").read_text(encoding="utf-8")
    h1 = tree(out)
    q3 = small["2024Q3"]
    for args in (("consolidate", q3, "--period", "2024Q3", "-o", out, "--previous", out),  # -o = --previous
                 ("consolidate", q3, "-o", out),  # the period read from the returns
                 ("intake", q3, "--period", "2024Q3", "-o", out),
                 ("assess", q3, "-o", out),
                 ("report", q3, "--period", "2024Q3", "-o", out)):  # fmt: skip
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert f"错误：输出目录 {out} 中是2024年上半年的汇总结果，本次汇总的是2024年前三季度" in r.stderr, r.stderr
        assert "本次没有写入任何文件" in r.stderr and "-o 2024年前三季度汇总" in r.stderr and "--overwrite" in r.stderr
        assert "Traceback" not in r.stderr
        assert tree(out) == h1  # every H1 result as it was, byte for byte
    again = run("consolidate", small["2024H1"], "-o", out)  # the same period again: silently, as before
    assert again.returncode == 0 and "错误" not in again.stderr and "提醒" not in again.stderr
    assert tree(out) == h1

    r = run("consolidate", q3, "--period", "2024Q3", "-o", out, "--previous", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert Q3_REPORT in r.stdout
    assert not (out / H1_REPORT).exists()  # no stale report of the other period beside the new one
    assert json.loads((out / "评估结果.json").read_text(encoding="utf-8"))["period"] == "2024Q3"
    assert "period: 2024Q3" in (out / ".pdreport-output").read_text(encoding="utf-8")
    r = run("intake", q3, "-o", out)  # now a Q3 folder: Q3 runs go in silently
    assert r.returncode == 0, r.stderr


def test_overwrite_leaves_nothing_of_the_other_periods_results(small, tmp_path):
    out = tmp_path / "out"
    assert run("consolidate", small["2024H1"], "--period", "2024H1", "-o", out).returncode == 0
    (out / "退回修改").mkdir()
    (out / "退回修改" / "区科经委_退回修改.xlsx").write_bytes(b"H1 copy")  # an H1 feedback copy
    (out / "说明.docx").write_bytes(b"the coordinator's own file")
    r = run("intake", small["2024Q3"], "--period", "2024Q3", "-o", out, "--overwrite")  # writes no 汇总表, no report
    assert r.returncode == 0, r.stderr
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left == [".pdreport-output", "数据明细.csv", "数据明细.xlsx", "说明.docx", "问题清单.xlsx"]


def test_an_older_output_folder_is_known_by_its_results(small, tmp_path):
    """A folder written before the marker recorded the period (or copied without the hidden
    marker) is still known as H1's by its 评估结果.json."""
    from pdreport.outputs import MARKER_TEXT

    out = tmp_path / "out"
    assert run("assess", small["2024H1"], "--period", "2024H1", "-o", out).returncode == 0
    (out / ".pdreport-output").write_text(MARKER_TEXT.splitlines()[0] + "\n", encoding="utf-8")
    r = run("consolidate", small["2024Q3"], "--period", "2024Q3", "-o", out)
    assert r.returncode == 2 and "中是2024年上半年的汇总结果" in r.stderr, r.stderr
    (out / ".pdreport-output").unlink()
    r = run("consolidate", small["2024Q3"], "--period", "2024Q3", "-o", out)
    assert r.returncode == 2 and "中是2024年上半年的汇总结果" in r.stderr, r.stderr
    r = run("consolidate", small["2024H1"], "--period", "2024H1", "-o", out)  # its own period: fine
    assert r.returncode == 0, r.stderr


def test_outputs_never_go_into_a_folder_of_returns(small, tmp_path):
    returns = tmp_path / "一季度回收表"
    shutil.copytree(small["2024Q3"], returns)
    before = tree(returns)
    r = run("consolidate", small["2024H1"], "--period", "2024H1", "-o", returns)
    assert r.returncode == 2, r.stderr
    assert f"错误：输出目录 {returns} 中已有不是 pdreport 输出的表格文件（如 jjw.xlsx、kangqiao_zhen.xlsx）" in r.stderr
    assert "以后汇总时其中的文件不会再被读取" in r.stderr and "Traceback" not in r.stderr
    assert tree(returns) == before  # no marker, nothing
    parent = tmp_path / "全年"
    shutil.copytree(small["2024Q3"], parent / "三季度")
    r = run("intake", small["2024H1"], "-o", parent)  # returns further down count too
    assert r.returncode == 2 and "三季度/jjw.xlsx" in r.stderr, r.stderr
    assert not (parent / ".pdreport-output").exists()
    # an output folder copied without its hidden marker holds only pdreport's outputs: still fine
    out = tmp_path / "out"
    assert run("consolidate", SAMPLES, "--period", "2024H1", "-o", out).returncode == 0
    assert list((out / "退回修改").glob("*.xlsx"))
    (out / ".pdreport-output").unlink()
    r = run("intake", SAMPLES, "--period", "2024H1", "-o", out)
    assert r.returncode == 0, r.stderr


def test_returns_under_an_output_folders_marker_are_said_not_skipped_silently(small, tmp_path):
    from pdreport.outputs import MARKER_TEXT

    root = tmp_path / "全年"
    shutil.copytree(small["2024H1"], root / "上半年")
    (root / "上半年" / ".pdreport-output").write_text(MARKER_TEXT, encoding="utf-8")  # an older run's marker
    r = run("intake", root, "--period", "2024H1", "-o", tmp_path / "a")
    assert r.returncode == 2 and f"错误：文件夹 {root} 中除 pdreport 的输出文件夹外没有文件" in r.stderr, r.stderr
    said = [line for line in r.stdout.splitlines() if "没有读取子文件夹" in line]
    assert said == ["  没有读取子文件夹 上半年：其中有标记文件 .pdreport-output，是 pdreport 的输出文件夹；"
                    "如果其中确实是收回的填报表，删除该标记文件后重新运行"]  # fmt: skip
    r = run("consolidate", root, "--period", "2024H1", "-o", tmp_path / "b")
    assert r.returncode == 2 and "  没有读取子文件夹 上半年：" in r.stdout, r.stdout
    assert f"错误：文件夹 {root} 中除 pdreport 的输出文件夹外没有文件" in r.stderr, r.stderr
    r = run("consolidate", root / "上半年", "--period", "2024H1", "-o", tmp_path / "c")
    assert r.returncode == 2 and f"删除标记文件 {root / '上半年' / '.pdreport-output'}" in r.stderr, r.stderr
    (root / "上半年" / ".pdreport-output").unlink()  # as the message says
    r = run("consolidate", root, "--period", "2024H1", "-o", tmp_path / "d")
    assert r.returncode == 0 and "采用             3" in r.stdout, r.stdout


# -- the folder given as "." or "..": a default output folder named after it ------------------


def test_the_folder_given_as_dot_or_dotdot(small, tmp_path):
    returns = tmp_path / "回收表"
    shutil.copytree(small["2024H1"], returns)
    for command in ("intake", "assess", "report", "consolidate"):
        r = run(command, ".", "--period", "2024H1", cwd=returns)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (command, r.stderr)
        assert "：../回收表_汇总/" in r.stdout, (command, r.stdout)
    assert (tmp_path / "回收表_汇总" / "评估结果.json").is_file()
    (returns / "镇").mkdir()
    r = run("intake", "..", "--period", "2024H1", cwd=returns / "镇")
    assert r.returncode == 0 and "：../../回收表_汇总/问题清单.xlsx" in r.stdout, r.stdout
    assert [p.name for p in (returns / "镇").iterdir()] == []  # no hidden ".._汇总" here
    hidden = tmp_path / ".隐藏"
    shutil.copytree(small["2024H1"], hidden)
    r = run("intake", hidden, "--period", "2024H1")
    assert r.returncode == 0 and (tmp_path / "隐藏_汇总" / "问题清单.xlsx").is_file(), r.stderr
    r = run("consolidate", "/", "--period", "2024H1", cwd=tmp_path)
    assert r.returncode == 2 and "错误：无法由“/”得出默认的输出目录名，请用 -o 指定输出目录" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


# -- a wrong --period, an empty folder: said so ------------------------------------------------


def test_a_wrong_period_is_named(small, tmp_path):
    out = tmp_path / "汇总"
    r = run("consolidate", small["2024H1"], "--period", "2024Q1", "-o", out)
    assert r.returncode == 2
    assert r.stderr.endswith("错误：没有可采用的填报表，未生成汇总表和报告：这些文件是2024年上半年的填报表，"
                             "不是2024年一季度的；--period 是否应为 2024H1？\n"), r.stderr  # fmt: skip
    r = run("intake", small["2024H1"], "--period", "2024Q1", "-o", out)  # (the problem list is written)
    assert r.returncode == 2 and r.stderr.endswith("错误：没有可采用的填报表：这些文件是2024年上半年的填报表，"
                                                   "不是2024年一季度的；--period 是否应为 2024H1？\n"), r.stderr  # fmt: skip
    assert "提醒：" not in r.stdout and (out / "问题清单.xlsx").is_file()
    for command in ("assess", "report"):  # neither writes an all-未报送 summary or report (as consolidate)
        r = run(command, small["2024H1"], "--period", "2024Q1", "-o", tmp_path / command)
        assert r.returncode == 2 and r.stderr.endswith("--period 是否应为 2024H1？\n"), (command, r.stderr)
        assert "提醒：" not in r.stdout  # (said once, in the error)
        assert not (tmp_path / command).exists(), command  # (nothing written: no folder left behind)
    r = run("consolidate", small["2024H1"], "--period", "2024H1", "-o", out)  # corrected: same -o is fine
    assert r.returncode == 0, r.stderr
    mixed = tmp_path / "回收表"
    shutil.copytree(small["2024H1"], mixed)
    shutil.copy(small["2024Q1"] / "fgw.xlsx", mixed / "一季度.xlsx")  # last quarter's left in: normal
    r = run("intake", mixed, "--period", "2024H1", "-o", tmp_path / "x")
    assert r.returncode == 0 and "是否应为" not in r.stdout
    r = run("intake", mixed, "--period", "2024Q1", "-o", tmp_path / "y")  # 3 of 4 are H1's
    assert "  提醒：收到的文件中有 3 份是2024年上半年的填报表，不是2024年一季度的；--period 是否应为 2024H1？" in r.stdout


def test_returns_of_another_plan_suggest_a_forgotten_plan_option(tmp_path):
    """Next year's returns consolidated with this year's (bundled) plan: said on screen, not only
    in 问题清单 (as without --period, and as for a wrong --period)."""
    from pdreport.demo import demo_values, fill_template
    from pdreport.plan.load import parse_plan

    text = default_plan_path().read_text(encoding="utf-8").replace("  id: pudong-2024\n", "  id: pudong-2025\n", 1)
    other = parse_plan(text)
    returns = tmp_path / "回收表"
    returns.mkdir()
    values = demo_values(other, other.period("2024H1"))
    for rid in ("jjw", "kangqiao_zhen"):
        (returns / f"{rid}.xlsx").write_bytes(fill_template(values[rid]))
    said = "这些文件是按计划“pudong-2025”生成的填报表，不是本次所用的计划“pudong-2024”的；汇总这些填报表请用 --plan 指定计划“pudong-2025”的文件"
    r = run("consolidate", returns, "--period", "2024H1", "-o", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.endswith(f"错误：没有可采用的填报表，未生成汇总表和报告：{said}\n"), r.stderr
    r = run("intake", returns, "--period", "2024H1", "-o", tmp_path / "out2")
    assert r.returncode == 2 and r.stderr.endswith(f"错误：没有可采用的填报表：{said}\n"), r.stderr
    plan_file = tmp_path / "2025.yaml"
    plan_file.write_text(text, encoding="utf-8")
    r = run("consolidate", returns, "--plan", plan_file, "--period", "2024H1", "-o", tmp_path / "out3")
    assert r.returncode == 0 and "提醒：" not in r.stdout, r.stderr


def test_an_empty_folder_is_said_to_be_empty(tmp_path):
    empty = tmp_path / "空"
    empty.mkdir()
    for period in ((), ("--period", "2024H1")):
        r = run("consolidate", empty, *period, "-o", tmp_path / "out")
        assert r.returncode == 2, r.stderr
        assert f"错误：文件夹 {empty} 中没有文件；请把收回的填报表放进这个文件夹" in r.stderr, r.stderr
        assert "--period 指定" not in r.stderr and "问题清单" not in r.stderr
    r = run("intake", empty, "--period", "2024H1", "-o", tmp_path / "intake")  # (it wrote its problem list)
    assert r.returncode == 2 and r.stderr.endswith(f"错误：文件夹 {empty} 中没有文件；请把收回的填报表放进这个文件夹"
                                                   "（可以放在子文件夹中）\n"), r.stderr  # fmt: skip


# -- dates that cannot be meant ----------------------------------------------------------------


def test_a_resubmission_deadline_before_the_report_date_is_refused(small, tmp_path):
    out = tmp_path / "out"
    h1 = small["2024H1"]
    for args, date in ((("--period", "2024H1", "--date", "2024-07-20", "--resubmit-by", "2024-07-18"), "2024-07-20"),
                       (("--period", "2024H1", "--resubmit-by", "2024-07-10"), "2024-07-15"),  # the deadline
                       (("--date", "2024-07-20", "--resubmit-by", "2024-07-18"), "2024-07-20")):  # period read
        r = run("consolidate", h1, "-o", out, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert f"错误：重新报送期限 {args[-1]} 早于报告成文日期 {date}" in r.stderr, r.stderr
        assert not out.exists()  # nothing written
    r = run("consolidate", h1, "-o", out, "--date", "2024-07-20", "--resubmit-by", "2024-07-20")  # the same day
    assert r.returncode == 0, r.stderr
    r = run("intake", h1, "--period", "2024H1", "-o", tmp_path / "i", "--resubmit-by", "2024-07-10")
    assert r.returncode == 0, r.stderr  # no report: returning copies before the deadline is the coordinator's call


def test_a_report_dated_before_the_period_ends_is_warned(small, tmp_path):
    h1 = small["2024H1"]
    warning = "提醒：报告成文日期 2024-05-01 早于本报送期（2024年上半年）的结束日 2024-06-30"
    for command, period in (("consolidate", ("--period", "2024H1")), ("consolidate", ()), ("report", ()),
                            ("report", ("--period", "2024H1"))):  # fmt: skip
        r = run(command, h1, *period, "-o", tmp_path / "out", "--date", "2024-05-01")
        assert r.returncode == 0, r.stderr
        assert r.stderr.count(warning) == 1, (command, period, r.stderr)
    r = run("consolidate", h1, "-o", tmp_path / "out", "--date", "2024-07-01")
    assert r.returncode == 0 and "提醒" not in r.stderr, r.stderr


# -- a name longer than the file system takes: said so, never a traceback ----------------------


def test_a_name_too_long_is_said_in_chinese(small, tmp_path):
    """84 Chinese characters (252 bytes) make a folder; with "_汇总" its default output folder
    would be 259 bytes, over the 255 that Linux and macOS take."""
    returns = tmp_path / ("回收表" * 28)
    shutil.copytree(small["2024H1"], returns)
    long_out = tmp_path / ("输出" * 50)
    cases = [
        ("consolidate", returns, "--period", "2024H1"),
        ("intake", returns, "--period", "2024H1"),
        ("assess", returns, "--period", "2024H1"),
        ("report", returns, "--period", "2024H1"),
        ("consolidate", small["2024H1"], "--period", "2024H1", "-o", long_out),
        ("templates", "--period", "2024H1", "-o", long_out),
        ("demo-data", "-o", long_out),
        ("check", long_out / "x.xlsx"),
        ("consolidate", long_out, "--period", "2024H1", "-o", tmp_path / "汇总"),
        ("consolidate", small["2024H1"], "--period", "2024H1", "-o", tmp_path / "汇总", "--previous", long_out),
    ]
    for args in cases:
        r = run(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert "过长" in r.stderr and "错误：" in r.stderr, (args, r.stderr)
    r = run("consolidate", returns, "--period", "2024H1")
    assert "请把填报表文件夹改用较短的名字，或用 -o 指定较短的输出目录" in r.stderr, r.stderr
    r = run("templates", "--period", "2024H1", "-o", long_out)
    assert "请用 -o 指定较短的输出目录" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([returns.name])  # nothing written
    r = run("consolidate", returns, "--period", "2024H1", "-o", tmp_path / "汇总")
    assert r.returncode == 0, r.stderr


# -- demo-data never writes into an output folder, and deletes only what its help says ---------


def test_demo_data_never_writes_into_an_output_folder(small, tmp_path):
    out = tmp_path / "汇总"
    assert run("consolidate", small["2024H1"], "--period", "2024H1", "-o", out).returncode == 0
    before = tree(out)
    for extra in ((), ("--overwrite",)):
        r = run("demo-data", "-o", out, *extra)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "是 pdreport 的输出文件夹" in r.stderr and "未作任何改动" in r.stderr, r.stderr
        assert tree(out) == before
    (out / ".pdreport-output").unlink()  # an older output folder, known by its 评估结果.json
    before = tree(out)
    r = run("demo-data", "-o", out, "--overwrite")
    assert r.returncode == 2 and "是 pdreport 的输出文件夹" in r.stderr and tree(out) == before, r.stderr


def test_demo_data_overwrite_deletes_only_spreadsheets(tmp_path):
    out = tmp_path / "示例"
    assert run("demo-data", "-o", out).returncode == 0
    (out / "old.xls").write_bytes(b"an old sample")
    (out / "会议纪要.docx").write_bytes(b"somebody's Word file")
    (out / "说明.txt").write_text("notes")
    (out / "区统计局_情况说明.docx").write_bytes(b"written again")
    r = run("demo-data", "-o", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not (out / "old.xls").exists()
    assert (out / "会议纪要.docx").read_bytes() == b"somebody's Word file" and (out / "说明.txt").exists()
    assert (out / "区统计局_情况说明.docx").read_bytes()[:2] == b"PK"  # the sample's own, written again
    assert "表格文件（.xlsx、.xls、.ods）" in run("demo-data", "--help").stdout


def test_demo_data_for_another_plan_asks_for_one_of_its_periods(tmp_path):
    from pdreport.plan.load import default_plan_path

    text = default_plan_path().read_text(encoding="utf-8")
    plan_file = tmp_path / "无上半年.yaml"
    plan_file.write_text("".join(line for line in text.splitlines(keepends=True) if "{id: 2024H1" not in line),
                         encoding="utf-8")  # fmt: skip
    r = run("demo-data", "--plan", plan_file, "-o", tmp_path / "示例")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"错误：没有指定 --period，默认的报送期 2024H1 不在计划 {plan_file} 中；请用 --period 指定，可选：" \
           "2024Q1、2024Q3、2024FY" in r.stderr, r.stderr  # fmt: skip
    r = run("demo-data", "--plan", plan_file, "--period", "2024Q3", "-o", tmp_path / "示例")
    assert r.returncode == 0, r.stderr


def test_a_wrong_previous_says_what_to_point_it_at(tmp_path):
    import json

    from pdreport.consolidate import load_snapshot
    from pdreport.errors import UsageError
    from pdreport.plan.load import load_plan

    plan = load_plan(None)
    book = tmp_path / "汇总表.xlsx"
    book.write_bytes(b"PK\x03\x04\xff\xfe")
    other = tmp_path / "评估结果.json"
    other.write_text(json.dumps({"pdreport_snapshot": 1, "plan_id": "pudong-2025"}), encoding="utf-8")
    for where, said in ((book, "不是 pdreport 生成的评估结果文件；--previous 应指向上期的输出文件夹"),
                        (other, "请指向本计划更早报送期的输出文件夹，或去掉 --previous")):  # fmt: skip
        with pytest.raises(UsageError) as info:
            load_snapshot(where, plan)
        assert said in str(info.value), str(info.value)


def test_assess_or_report_with_nothing_usable_leave_no_new_folder(tmp_path):
    returns = tmp_path / "回收表"
    returns.mkdir()
    (returns / "说明.docx").write_bytes(b"not a workbook")
    for command in ("assess", "report"):
        out = tmp_path / command
        r = run(command, returns, "--period", "2024H1", "-o", out)
        assert r.returncode == 2 and "没有可采用的填报表" in r.stderr, r.stderr
        assert not out.exists()  # (it held nothing but the hidden marker)
