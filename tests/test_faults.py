"""Faults mid-run: a full disk, an unwritable output folder, a run killed with SIGKILL at random
points, two runs on one output folder. Outputs are never half-written, the previous outputs survive
a failed run, no temp files are left, inputs are untouched, and errors are clear Chinese messages.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import openpyxl
import pytest

import pdreport.outputs as outputs
from pdreport.cli import main
from pdreport.collect import scan
from pdreport.demo import fill_template
from pdreport.errors import OutputError
from pdreport.outputs import (
    LOCK_NAME,
    OUTPUT_MARKER,
    OutputLockedError,
    OutputStage,
    atomic_write_bytes,
    output_lock,
)

RIDS = ("jjw", "kangqiao_zhen", "huamu_jd")
KILL_TRIALS = 20


def make_folder(demo, folder: Path, variant: str) -> Path:
    """Variant "a": three clean returns; "b": other figures and a missing filler (a feedback copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    for rid in RIDS:
        values = dict(demo[rid].values)
        if variant == "b":
            values = {k: (v * 1.5 if isinstance(v, float) else v) for k, v in values.items()}
            if rid == "jjw":
                values.pop("header.filler")
        (folder / f"{rid}.xlsx").write_bytes(fill_template(demo[rid], values=values))
    return folder


def hashes(folder: Path, hidden: bool = False) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and (hidden or not p.name.startswith("."))}  # fmt: skip


def leftovers(folder: Path) -> list[str]:
    """Hidden files left behind (temp files, a lock); the output folder's marker belongs there."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if p.name != OUTPUT_MARKER)


def call(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)
    return 0


def consolidate_args(folder: Path, out: Path) -> list[str]:
    return ["consolidate", str(folder), "--period", "2024H1", "-o", str(out)]


def run(folder: Path, out: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pdreport", *consolidate_args(folder, out)],
                          capture_output=True, text=True, timeout=300, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def folders(demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    return make_folder(demo, root / "a", "a"), make_folder(demo, root / "b", "b")


# -- a full disk ------------------------------------------------------------------------------------


def enospc_after(monkeypatch, n_ok: int) -> list[int]:
    """Make the n_ok+1-th output write fail half-way with ENOSPC, as a full disk does."""
    calls = [0]
    real = outputs._write_all

    def write(fh, data):
        calls[0] += 1
        if calls[0] > n_ok:
            fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, data)

    monkeypatch.setattr(outputs, "_write_all", write)
    return calls


@pytest.mark.parametrize("n_ok", [0, 3])
def test_disk_full_keeps_previous_outputs(folders, tmp_path, monkeypatch, capsys, n_ok):
    a, b = folders
    out = tmp_path / "out"
    assert call(consolidate_args(a, out)) == 0
    previous = hashes(out, hidden=True)
    inputs = hashes(b)
    capsys.readouterr()
    calls = enospc_after(monkeypatch, n_ok)
    code = call(consolidate_args(b, out))
    err = capsys.readouterr().err
    assert calls[0] == n_ok + 1
    assert code == 3
    assert "磁盘空间不足" in err and "之前的输出保持原样" in err and "输入文件未受影响" in err
    assert "Traceback" not in err
    assert hashes(out, hidden=True) == previous  # every previous output, byte for byte; no temp files
    assert hashes(b) == inputs


def test_disk_full_on_a_first_run_leaves_no_files(folders, tmp_path, monkeypatch, capsys):
    a, _ = folders
    out = tmp_path / "out"
    enospc_after(monkeypatch, 2)
    assert call(consolidate_args(a, out)) == 3
    assert "磁盘空间不足" in capsys.readouterr().err
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    enospc_after(monkeypatch, 0)
    with pytest.raises(OutputError, match="磁盘空间不足"):
        atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


def test_stage_commits_all_or_nothing(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old a")
    with pytest.raises(RuntimeError), OutputStage() as stage:
        stage.write(tmp_path / "a.txt", b"new a")
        stage.write(tmp_path / "sub" / "b.txt", b"new b")
        raise RuntimeError("a renderer failed")
    assert (tmp_path / "a.txt").read_bytes() == b"old a" and not (tmp_path / "sub").exists()  # made, then removed
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), OutputStage() as stage:
        stage.write(tmp_path / "kept" / "c.txt", b"c")
        raise RuntimeError("a renderer failed")
    assert (tmp_path / "kept").is_dir()  # a folder that was there before stays
    with OutputStage() as stage:
        stage.write(tmp_path / "a.txt", b"new a")
        stage.write(tmp_path / "sub" / "b.txt", b"new b")
        assert (tmp_path / "a.txt").read_bytes() == b"old a"  # nothing moves before the commit
    assert (tmp_path / "a.txt").read_bytes() == b"new a" and (tmp_path / "sub" / "b.txt").read_bytes() == b"new b"
    assert leftovers(tmp_path) == []


def test_outputs_get_ordinary_permissions(tmp_path):
    atomic_write_bytes(tmp_path / "x.bin", b"1")
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == outputs._MODE


# -- an unwritable output folder ----------------------------------------------------------------------


def test_output_path_under_a_file(folders, tmp_path):
    a, _ = folders
    blocker = tmp_path / "汇总结果.txt"
    blocker.write_text("不是文件夹", encoding="utf-8")
    before = hashes(a)
    r = run(a, blocker / "sub")
    assert r.returncode == 3, r.stderr
    assert "无法写入" in r.stderr and "输入文件未受影响" in r.stderr and "Traceback" not in r.stderr
    assert hashes(a) == before


def test_permission_denied(folders, tmp_path, monkeypatch, capsys):
    """Root ignores folder permissions, so the refusal is simulated at the system call."""
    a, _ = folders
    out = tmp_path / "out"

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", denied)
    assert call(consolidate_args(a, out)) == 3
    err = capsys.readouterr().err
    assert "没有写入权限" in err and "Traceback" not in err
    assert [p for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_folder(folders, tmp_path):
    a, _ = folders
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        r = run(a, out)
    finally:
        out.chmod(0o755)
    assert r.returncode == 3 and "没有写入权限" in r.stderr


# -- one run per output folder --------------------------------------------------------------------------


def test_lock_refuses_a_live_owner_in_process(tmp_path):
    with output_lock(tmp_path / "out") as lock:
        info = json.loads(lock.read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid()
        with pytest.raises(OutputLockedError, match="正在被另一个 pdreport 运行使用"), output_lock(tmp_path / "out"):
            pass
        assert lock.exists()
    assert not lock.exists()


def test_second_run_refuses_while_the_first_holds_the_lock(folders, tmp_path):
    a, _ = folders
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(json.dumps({"pid": holder.pid, "host": os.uname().nodename,
                                                 "started": time.time()}), encoding="utf-8")  # fmt: skip
        lock_before = (out / LOCK_NAME).read_bytes()
        r = run(a, out)
        assert r.returncode == 2
        assert "正在被另一个 pdreport 运行使用" in r.stderr and f"进程 {holder.pid}" in r.stderr
        assert "Traceback" not in r.stderr
        assert (out / LOCK_NAME).read_bytes() == lock_before  # someone else's lock is left alone
        assert [p.name for p in out.iterdir()] == [LOCK_NAME]  # nothing written
    finally:
        holder.kill()
        holder.wait()
    r = run(a, out)  # the holder is gone: its lock is stale and taken over
    assert r.returncode == 0, r.stderr
    assert not (out / LOCK_NAME).exists() and (out / "问题清单.xlsx").exists()


def test_garbled_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_bytes(b"")  # a run killed between creating and writing it
    with pytest.raises(OutputLockedError), output_lock(out):
        pass
    old = time.time() - 3600
    os.utime(out / LOCK_NAME, (old, old))
    with output_lock(out):  # old enough: taken over
        pass
    assert not (out / LOCK_NAME).exists()


def test_two_runs_at_once_never_interleave(folders, tmp_path):
    a, b = folders
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-m", "pdreport", *consolidate_args(f, out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (a, b)]  # fmt: skip
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(c for c, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert "正在被另一个 pdreport 运行使用" in err
    assert leftovers(out) == []
    check_outputs_open(out)


# -- SIGKILL at random points -----------------------------------------------------------------------------


def check_outputs_open(out: Path) -> None:
    for p in out.rglob("*"):
        if p.name.startswith(".") or not p.is_file():
            continue
        if p.suffix == ".xlsx":
            assert zipfile.ZipFile(p).testzip() is None, p
            openpyxl.load_workbook(p, read_only=True).close()
        elif p.suffix == ".docx":
            docx.Document(str(p))
        elif p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_sigkill_at_random_points_never_leaves_a_truncated_output(folders, tmp_path):
    a, b = folders
    expected = {}
    durations = []
    for name, folder in (("a", a), ("b", b)):
        start = time.monotonic()
        r = run(folder, tmp_path / f"full_{name}")
        durations.append(time.monotonic() - start)
        assert r.returncode == 0, r.stderr
        expected[name] = hashes(tmp_path / f"full_{name}")
    assert expected["a"].keys() != expected["b"].keys() or expected["a"] != expected["b"]
    allowed: dict[str, set[str]] = {}
    for h in expected.values():
        for k, v in h.items():
            allowed.setdefault(k, set()).add(v)
    inputs = {"a": hashes(a), "b": hashes(b)}
    longest = max(durations)

    def lane(n: int) -> tuple[Path, dict[str, int]]:
        """Half the trials on one output folder (two lanes run side by side to halve the time)."""
        out = tmp_path / f"out{n}"
        rng = random.Random(20240630 + n)
        outcomes = {"killed": 0, "finished": 0}
        for trial in range(n, KILL_TRIALS, 2):
            folder = a if trial % 4 < 2 else b
            # most kills land late, where the outputs are written (rendering takes the first part)
            delay = longest * (rng.uniform(0.05, 1.1) if trial % 4 == 0 else rng.uniform(0.5, 1.1))
            p = subprocess.Popen([sys.executable, "-m", "pdreport", *consolidate_args(folder, out)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            code = p.wait(timeout=60)
            outcomes["killed" if code == -signal.SIGKILL else "finished"] += 1
            now = hashes(out) if out.exists() else {}
            unexpected = {k: v for k, v in now.items() if v not in allowed.get(k, set())}
            assert unexpected == {}, f"trial {trial} (kill after {delay:.2f} s): truncated or unknown {unexpected}"
            check_outputs_open(out)
        return out, outcomes

    with ThreadPoolExecutor(2) as pool:
        lanes = list(pool.map(lane, (0, 1)))
    killed = sum(o["killed"] for _, o in lanes)
    assert killed >= KILL_TRIALS // 2, lanes
    for out, _ in lanes:
        r = run(a, out)  # after all that: a clean run takes over any stale lock and removes temp files
        assert r.returncode == 0, r.stderr
        assert leftovers(out) == []
        now = hashes(out)
        assert now == expected["a"]  # b's feedback copy no longer applies: removed
    assert {"a": hashes(a), "b": hashes(b)} == inputs


# -- temp files and locks are never inputs --------------------------------------------------------------------


def test_temp_and_lock_files_are_not_inputs(tmp_path, demo):
    folder = tmp_path / "回收"
    folder.mkdir()
    data = fill_template(demo["jjw"])
    for name in (".~abc123.tmp", LOCK_NAME, "~$jjw.xlsx", "._jjw.xlsx", ".~lock.jjw.xlsx#", ".DS_Store"):
        (folder / name).write_bytes(data)
    for name in ("jjw.xlsx", ".xlsx", "..\\隐藏.xlsx"):
        (folder / name).write_bytes(data)
    (folder / "汇总结果").mkdir()
    (folder / "汇总结果" / "问题清单.xlsx").write_bytes(data)
    names = [rel for rel, _ in scan(folder, exclude=(folder / "汇总结果",))]
    assert names == sorted([".xlsx", "..\\隐藏.xlsx", "jjw.xlsx"])
    removed = outputs.remove_temp_files(folder)
    assert [p.name for p in removed] == [".~abc123.tmp"]


# -- a bug on one file never stops the run ---------------------------------------------------------------


def test_unexpected_error_on_one_file_becomes_a_finding(plan, demo, tmp_path, monkeypatch):
    import pdreport.collect as collect_mod

    folder = make_folder(demo, tmp_path / "in", "a")
    real = collect_mod.validate_submission

    def flaky(raw, plan_, period):
        if raw.file == "jjw.xlsx":
            raise KeyError("a bug")
        return real(raw, plan_, period)

    monkeypatch.setattr(collect_mod, "validate_submission", flaky)
    col = collect_mod.collect(plan, folder, "2024H1")
    assert set(col.submissions) == {"kangqiao_zhen", "huamu_jd"}
    (f,) = col.findings_for("jjw.xlsx")
    assert f.code.code == "E005" and "KeyError" in f.message
    monkeypatch.setattr(collect_mod, "_RAISE_UNEXPECTED", True)  # tests see the bug itself
    with pytest.raises(KeyError):
        collect_mod.collect(plan, folder, "2024H1")
