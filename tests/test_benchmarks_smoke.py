"""The benchmark script still runs (smallest size, one run); it is not a performance test."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_script_runs(tmp_path):
    env = {**__import__("os").environ, "PDREPORT_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sizes", "58", "--runs", "1",
         "--no-templates", "--e2e-runs", "1", "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "whole consolidate()" in proc.stdout
    assert (tmp_path / "out.json").exists()


def test_feedback_benchmark_runs(tmp_path):
    env = {**__import__("os").environ, "PDREPORT_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "feedback.py"), "--corpus", "58", "--returns", "58",
         "--every", "3", "--runs", "1"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "58 returns, 19 feedback copies" in proc.stdout
    assert "the copies are byte-identical" in proc.stdout
