"""Every CLI command invoked as a user would: a real process, real files in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys

from pdreport.plan.load import default_plan_path


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "pdreport", *args],
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
