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


# -- a file that cannot be replaced (open in Excel on Windows) ------------------------------------------


def tree(folder: Path) -> dict[str, object]:
    """Everything in ``folder``, hidden files included: each file's bytes, mode and mtime, each link's
    target, each folder."""
    found: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            found[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            found[rel] = "dir"
        else:
            st = p.stat()
            found[rel] = (p.read_bytes(), st.st_mode, st.st_mtime_ns)
    return found


def staged_folder(root: Path) -> Path:
    """Outputs of an earlier run: some to be replaced, some removed, one kept, one a link."""
    for name in ("a.txt", "b.txt", "sub/c.txt", "stale.txt", "sub/stale2.txt", "keep.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(f"old {name}".encode())
    os.symlink("keep.txt", root / "link.txt")
    os.utime(root / "a.txt", ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return root


def stage_everything(stage: OutputStage, root: Path) -> None:
    for name in ("a.txt", "new.txt", "sub/c.txt", "newdir/deeper/d.txt", "b.txt", "link.txt"):
        stage.write(root / name, f"new {name}".encode())
    stage.remove_on_commit(root / "stale.txt")
    stage.remove_on_commit(root / "sub" / "stale2.txt")


def fail_on_call(monkeypatch, n: int, names=("replace", "rename")) -> list[int]:
    """Make the n-th call of os.replace / os.rename (together) fail as a file open in Excel does on
    Windows; every other call works. (A hard link that fails only means a copy instead.)"""
    calls = [0]

    def faulty(real):
        def call(*args, **kw):
            calls[0] += 1
            if calls[0] == n:
                raise PermissionError(errno.EACCES, "The process cannot access the file", str(args[-1]))
            return real(*args, **kw)

        return call

    for name in names:
        monkeypatch.setattr(os, name, faulty(getattr(os, name)))
    return calls


def count_commit_calls(tmp_path: Path, names=("replace", "rename")) -> int:
    root = staged_folder(tmp_path / "count")
    with pytest.MonkeyPatch.context() as mp:
        calls = fail_on_call(mp, 0, names)
        stage = OutputStage()
        stage_everything(stage, root)
        calls[0] = 0
        with stage:
            pass
    assert (root / "a.txt").read_bytes() == b"new a.txt" and not (root / "stale.txt").exists()
    assert (root / "newdir" / "deeper" / "d.txt").read_bytes() == b"new newdir/deeper/d.txt"
    assert (root / "link.txt").read_bytes() == b"new link.txt" and not (root / "link.txt").is_symlink()
    assert (root / "keep.txt").read_bytes() == b"old keep.txt" and leftovers(root) == []
    return calls[0]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
@pytest.mark.parametrize("no_links", [False, True], ids=["hard-links", "copies"])
def test_a_commit_that_fails_at_any_step_leaves_the_folder_as_it_was(tmp_path, monkeypatch, no_links):
    if no_links:  # a file system without hard links (FAT, some network drives): backups are copies
        def no_link(*_a, **_k):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    total = count_commit_calls(tmp_path)
    assert total >= 8  # each file moved in, and each removal
    for n in range(1, total + 1):
        root = staged_folder(tmp_path / f"n{n}")
        before = tree(root)
        stage = OutputStage()
        stage_everything(stage, root)
        with monkeypatch.context() as mp:
            calls = fail_on_call(mp, n)
            calls[0] = 0
            with pytest.raises(OutputError) as info, stage:
                pass
        assert calls[0] >= n
        assert tree(root) == before, f"failing call {n} of {total}"
        text = str(info.value)
        assert "之前的输出保持原样" in text and "请关闭它后重新运行" in text or "请换一个输出目录" in text, text
        assert str(root) in text


def test_a_locked_output_is_named_and_nothing_is_replaced(folders, tmp_path, monkeypatch, capsys):
    """consolidate, as the reviewer ran it: 汇总表.xlsx open in Excel while the report and the
    feedback copies could be replaced. Also a stale feedback copy that cannot be removed, and the
    marker that cannot be replaced: each time the folder stays exactly as the run before left it."""
    a, b = folders
    out = tmp_path / "out"
    assert call(consolidate_args(b, out)) == 0  # b leaves a feedback copy, which a removes
    before = tree(out)
    capsys.readouterr()
    real = os.replace
    for locked in ("汇总表.xlsx", OUTPUT_MARKER, "_退回修改.xlsx"):
        failed = []

        def replace(src, dst, *, _locked=locked, _failed=failed):  # the first move into or out of it fails
            if not _failed and any(str(x).endswith(_locked) for x in (src, dst)):
                _failed.append(dst)
                raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
            return real(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        assert call(consolidate_args(a, out)) == 3
        err = capsys.readouterr().err
        assert "Traceback" not in err and locked in err, err
        assert "之前的输出保持原样" in err and "请关闭它后重新运行" in err
        assert tree(out) == before, locked
    monkeypatch.setattr(os, "replace", real)
    assert call(consolidate_args(a, out)) == 0
    assert not list((out / "退回修改").glob("*.xlsx")) and leftovers(out) == []


def test_templates_with_a_locked_distribution_list_change_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "填报表"
    assert call(["templates", "--period", "2024H1", "--only", "区建交委", "康桥镇", "-o", str(out)]) == 0
    before = tree(out)
    real = os.replace

    def replace(src, dst):
        if str(dst).endswith("分发清单.xlsx"):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    capsys.readouterr()
    assert call(["templates", "--period", "2024H1", "--only", "区建交委", "康桥镇", "-o", str(out), "--overwrite"]) == 3
    err = capsys.readouterr().err
    assert "分发清单.xlsx" in err and "之前的输出保持原样" in err and "Traceback" not in err
    assert tree(out) == before


def _chattr(flag: str, path: Path) -> bool:
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(os.name != "posix", reason="chattr")
def test_an_immutable_output_file_end_to_end(folders, tmp_path):
    """The reviewer's reproduction: ``chattr +i`` (root only, on ext4 and the like) makes a file that
    can be neither replaced nor renamed, as Excel makes an open file on Windows."""
    a, b = folders
    out = tmp_path / "out"
    assert run(a, out).returncode == 0
    locked = out / "汇总表.xlsx"
    if not _chattr("+i", locked):
        pytest.skip("chattr +i is not available here")
    try:
        before = tree(out)
        r = run(b, out)
        assert r.returncode == 3 and "Traceback" not in r.stderr
        assert f"无法替换输出文件 {locked}" in r.stderr and "之前的输出保持原样" in r.stderr
        assert tree(out) == before
    finally:
        _chattr("-i", locked)
    assert run(b, out).returncode == 0 and leftovers(out) == []


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


def test_an_unwritable_output_says_what_it_is_and_asks_for_room_only_when_the_disk_is_full():
    import errno

    from pdreport import outputs

    denied = PermissionError(errno.EACCES, "Permission denied")
    said = outputs._message(Path("汇总结果"), denied, folder=True)
    assert said.startswith("无法写入输出目录 汇总结果：没有写入权限。") and "空间" not in said
    full = outputs._message(Path("汇总结果/汇总表.xlsx"), OSError(errno.ENOSPC, "No space left on device"))
    assert full.startswith("无法写入输出文件 汇总结果/汇总表.xlsx：") and "请清理磁盘空间" in full
