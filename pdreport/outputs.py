"""Atomic output writes, staged as one set, under a lock on the output folder.

* **One file**: ``atomic_write_bytes`` writes a temp file in the target folder (``.~…tmp``,
  hidden, so it is never mistaken for an input), flushes and fsyncs it, then ``os.replace``\\ s it
  over the target. A reader, or a run killed at any instant, sees the previous file or the new
  one, never a truncated file.
* **A set of files** (:class:`OutputStage`): every output of a run is first written and fsynced
  as a temp file; only when all of them exist are they moved into place, one ``os.replace`` each,
  the previous files kept aside (hard links) until all are in place. A failure while writing (disk
  full, no permission, a bug in a renderer) deletes the temp files and leaves every previous
  output untouched; a failure while moving them in (a file open in Excel on Windows) puts every
  previous file back. The commit needs no disk space (where files can be hard-linked) and takes
  milliseconds.
* **One run per output folder** (:func:`output_lock`): ``OUT/.pdreport.lock`` is created
  exclusively and holds the owner's pid and host. A second run on the same folder refuses at once
  with a Chinese message (exit code 2). A lock left by a run that was killed (its pid is no longer
  running on this host) is taken over. While holding the lock, temp files left by a killed run
  are removed.

Failures become ``OutputError`` (exit code 3) with a Chinese message that says the inputs were
not touched.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError, PdreportError, os_error_text

TEMP_PREFIX, TEMP_SUFFIX = ".~", ".tmp"
LOCK_NAME = ".pdreport.lock"
# Left in every output folder: intake never reads a folder that holds it (its 退回修改 copies
# are real templates with a unit's values, and would be taken for returns).
OUTPUT_MARKER = ".pdreport-output"
MARKER_TEXT = ("pdreport 的输出文件夹。汇总时不会读取本文件夹中的文件；请勿把收回的填报表放在这里。\n"
               "如果这里确实是收回的填报表，删除本文件（.pdreport-output）后再汇总。\n")  # fmt: skip
# below the text: "key: value" lines naming whose results the folder holds (``marker_text``)
MARKER_KEYS = ("plan", "period", "period_label", "resubmit_by")


def is_output_folder(folder: Path) -> bool:
    return (Path(folder) / OUTPUT_MARKER).is_file()


def marker_text(plan_id: str = "", period_id: str = "", period_label: str = "", resubmit_by: str = "") -> str:
    """The marker's content: the text above, then the plan and 报送期 of the results the folder
    holds (none when it holds no results yet, e.g. a run that could use no return), and the
    重新报送期限 its 退回修改 copies give (a ``report`` run later in the folder says the same)."""
    if not period_id:
        return MARKER_TEXT
    text = MARKER_TEXT + f"plan: {plan_id}\nperiod: {period_id}\nperiod_label: {period_label}\n"
    return text + (f"resubmit_by: {resubmit_by}\n" if resubmit_by else "")


def read_marker(folder: Path) -> dict[str, str]:
    """The plan and period an output folder's marker records ({} when none, or no marker)."""
    try:
        text = (Path(folder) / OUTPUT_MARKER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in MARKER_KEYS and value.strip():
            found[key] = value.strip()
    return found if "period" in found else {}


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_current_umask()  # what open() would give: mkstemp alone makes files 0600


class OutputLockedError(PdreportError):
    """Another run is writing to the same output folder (exit code 2: nothing was done)."""


# -- one file ----------------------------------------------------------------------------------


def _write_temp(path: Path, data: bytes) -> str:
    """``data`` in a fsynced temp file next to ``path``; the temp file's name. OutputError on failure
    (the temp file is removed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise OutputError(_message(path, exc)) from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _MODE)
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        _unlink(tmp)
        raise OutputError(_message(path, exc)) from None
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _write_all(fh, data: bytes) -> None:
    """The one place output bytes are written (tests make it fail as a full disk would)."""
    fh.write(data)


def _replace(tmp: str, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise OutputError(_message(path, exc)) from None


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    _replace(_write_temp(path, data), path)
    _fsync_dir(path.parent)
    return path


# -- a set of files ------------------------------------------------------------------------------


class OutputStage:
    """Collect a run's outputs as fsynced temp files; move them all into place on ``commit``.

    Use as a context manager: leaving the block with an exception deletes every temp file (the
    previous outputs stay as they were); leaving it normally commits. ``write`` has the signature of
    :func:`atomic_write_bytes`, so writers take either.
    """

    def __init__(self) -> None:
        self._pending: dict[Path, str] = {}
        self._removals: list[Path] = []
        self._made: list[Path] = []  # folders this stage created (removed again, if empty, on abort)

    def write(self, path: Path, data: bytes) -> Path:
        path = Path(path)
        missing = []
        for folder in (path.parent, *path.parent.parents):
            if folder.exists():
                break
            missing.append(folder)
        self._made.extend(reversed(missing))
        try:
            tmp = _write_temp(path, data)
        except OutputError as exc:
            raise OutputError(f"{exc}本次运行的输出文件都没有更新，之前的输出保持原样。") from None
        old = self._pending.pop(path, None)
        if old is not None:
            _unlink(old)
        self._pending[path] = tmp
        return path

    def remove_on_commit(self, path: Path) -> None:
        """Delete ``path`` (an output of an earlier run that no longer applies) when committing."""
        self._removals.append(Path(path))

    def pending(self) -> list[Path]:
        return list(self._pending)

    def commit(self) -> None:
        """Move every staged file into place and delete the files ``remove_on_commit`` named: all of
        it, or (OutputError) none of it.

        1. every target that exists is kept aside as a backup (a hard link, or a copy where the
           disk cannot link) under a temp name in its folder; nothing is changed yet;
        2. each new file replaces its target (``os.replace``): at every instant a target is its
           old file or its new one, never missing;
        3. each file to be removed is moved aside to a temp name.

        A step that fails (a file open in Excel or WPS on Windows, which can be neither replaced
        nor renamed; no permission) undoes the steps before it in reverse order: the backups go
        back, files that are new are deleted, so the folder is as it was, byte for byte. Only then
        are the backups deleted. A run killed during the commit leaves each target old or new (its
        temp files are removed by the next run, see ``output_lock``).
        """
        pending = list(self._pending.items())
        removals = [p for p in dict.fromkeys(self._removals)
                    if p not in self._pending and p.is_file() and not p.is_symlink()]  # fmt: skip
        backups: dict[Path, str] = {}  # target → its previous content, kept aside
        placed: list[Path] = []  # targets that now hold their new file
        moved: list[tuple[Path, str]] = []  # removed files, moved aside
        folders = {path.parent for path, _tmp in pending} | {path.parent for path in removals}
        step: tuple[Path, str] | None = None  # the file being handled, and how ("replace", "new", "remove")
        try:
            for path, _tmp in pending:
                step = (path, "replace")
                if os.path.lexists(path) and not path.is_dir():
                    backups[path] = _keep_aside(path)
            for path, tmp in pending:
                step = (path, "replace" if path in backups else "new")
                os.replace(tmp, path)
                del self._pending[path]
                placed.append(path)
            for path in removals:
                step = (path, "remove")
                aside = _temp_name(path.parent)
                try:
                    os.replace(path, aside)
                except BaseException:
                    _unlink(aside)
                    raise
                moved.append((path, aside))
        except BaseException as exc:
            lost = self._undo(backups, placed, moved)
            for folder in sorted(folders):
                _fsync_dir(folder)
            if not isinstance(exc, OSError) or step is None:
                raise
            raise OutputError(_commit_message(*step, exc, lost)) from None
        self._removals.clear()
        for tmp in [*backups.values(), *(aside for _path, aside in moved)]:
            _unlink(tmp)
        for folder in sorted(folders):
            _fsync_dir(folder)

    @staticmethod
    def _undo(backups: dict[Path, str], placed: list[Path], moved: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
        """Put the folder back as it was before ``commit`` (see there); the (target, backup) pairs
        that could not be put back (their backups are kept)."""
        lost = []
        for path, aside in reversed(moved):
            try:
                os.replace(aside, path)
            except OSError:
                lost.append((path, aside))
        for path in reversed(placed):
            try:
                if path in backups:
                    os.replace(backups[path], path)
                else:
                    os.unlink(path)
            except OSError:
                lost.append((path, backups.get(path, "")))
            backups.pop(path, None)
        for backup in backups.values():  # (not replaced yet: the target is still the old file)
            _unlink(backup)
        return lost

    def abort(self) -> None:
        for tmp in self._pending.values():
            _unlink(tmp)
        self._pending.clear()
        self._removals.clear()
        for folder in reversed(self._made):  # deepest first; a folder something else filled stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made.clear()

    def __enter__(self) -> OutputStage:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        finally:
            self.abort()  # whatever a failed commit left


# -- one run per output folder ---------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (True when it cannot be told)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows: os.kill(pid, 0) would terminate the process
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def _lock_info() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}


def _read_lock(path: Path) -> dict | None:
    """The lock's owner, {} when the file is unreadable or garbled, None when it is gone."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        info = json.loads(text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


GARBLED_LOCK_GRACE = 10.0  # seconds: an unreadable lock younger than this may still be being written


def _is_stale(path: Path, info: dict) -> bool:
    pid = info.get("pid")
    if not isinstance(pid, int):
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return True
        return age > GARBLED_LOCK_GRACE
    if info.get("host") != socket.gethostname():
        return False  # another machine's run (a shared drive): it cannot be checked from here
    return not _pid_alive(pid)


def _create_lock(path: Path, info: dict) -> bool:
    """Create the lock file with its content in one step; False if it already exists."""
    data = json.dumps(info, ensure_ascii=False).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _locked_message(out_dir: Path, info: dict) -> str:
    who = ""
    if info.get("pid"):
        started = info.get("started")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "未知时间"
        who = f"（进程 {info['pid']}，{info.get('host') or '未知计算机'}，开始于 {when}）"
    return (f"输出目录 {out_dir} 正在被另一个 pdreport 运行使用{who}。为避免输出文件互相覆盖，本次未运行。"
            f"请等它结束后再运行；如确认没有其他运行，删除 {out_dir / LOCK_NAME} 后重试。输入文件未受影响。")


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[Path]:
    """Hold ``OUT/.pdreport.lock`` for the duration of the block (creating OUT if needed, and
    removing it again if the block leaves it empty).

    A live owner → :class:`OutputLockedError` at once (the run does not wait). A stale lock (owner
    no longer running on this host, or an unreadable lock older than ``GARBLED_LOCK_GRACE``) is
    replaced. Temp files of a killed run are removed once the lock is held.
    """
    out_dir = Path(out_dir)
    path = out_dir / LOCK_NAME
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        info = _lock_info()
        for _attempt in range(5):
            if _create_lock(path, info):
                break
            seen = _read_lock(path)
            if seen is None:
                continue  # released in between: try again
            if not _is_stale(path, seen):
                raise OutputLockedError(_locked_message(out_dir, seen))
            # stale: remove it only if it is still the lock that was judged stale
            if _read_lock(path) == seen:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        else:
            raise OutputLockedError(_locked_message(out_dir, _read_lock(path) or {}))
    except OSError as exc:
        raise OutputError(_message(out_dir, exc, folder=True)) from None
    try:
        remove_temp_files(out_dir)
        yield path
    finally:
        if _read_lock(path) == info:
            with contextlib.suppress(OSError):
                path.unlink()
        if created:  # a run that failed before writing anything leaves no empty folder behind
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # (only if empty)


def remove_temp_files(out_dir: Path) -> list[Path]:
    """Delete ``.~*.tmp`` files left in OUT (and its subfolders) by a run that was killed.
    Only called while holding the lock, so no running writer owns them."""
    removed = []
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return removed
    for folder, dirs, files in os.walk(out_dir, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                p = Path(folder) / name
                with contextlib.suppress(OSError):
                    if p.is_file() and not p.is_symlink():
                        p.unlink()
                        removed.append(p)
    return removed


# -- helpers ------------------------------------------------------------------------------------------


def _temp_name(folder: Path) -> str:
    """A new, unused temp file name in ``folder`` (the file is created empty)."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    return tmp


def _keep_aside(path: Path) -> str:
    """A temp file beside ``path`` with its content: a second hard link to it (instant, no disk
    space), or a copy where the file system has no hard links (FAT, some network drives). A link
    is kept as a link."""
    tmp = _temp_name(path.parent)
    try:
        if path.is_symlink():
            os.unlink(tmp)
            os.symlink(os.readlink(path), tmp)
            return tmp
        try:
            os.unlink(tmp)
            os.link(path, tmp)
        except OSError:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
            shutil.copystat(path, tmp)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_failure(exc: OSError) -> str:
    """Why a write failed, in the users' words."""
    return "没有写入权限" if exc.errno in (errno.EACCES, errno.EPERM) else os_error_text(exc)


def _commit_message(path: Path, how: str, exc: OSError, lost: list[tuple[Path, str]]) -> str:
    """Why the outputs could not be moved into place (``how``: "replace", "new" or "remove"
    ``path``), and what to do."""
    why = write_failure(exc)
    if how != "new":
        verb = "替换输出文件" if how == "replace" else "删除不再适用的旧输出文件"
        text = (f"无法{verb} {path}：{why}。该文件可能正在 Excel、WPS 或其他程序中打开，"
                "请关闭它后重新运行（或用 -o 换一个输出目录）。")  # fmt: skip
    else:
        text = f"无法写入输出文件 {path}：{why}。请换一个输出目录（-o）后重试。"
    if not lost:
        return text + "本次运行的输出文件都没有更新，之前的输出保持原样，输入文件未受影响。"
    kept = "；".join(f"{p}（上次的版本在 {b}）" if b else f"{p}" for p, b in lost)
    return (text + f"另外，以下文件未能恢复为上次的输出：{kept}。请在下次运行之前把上次的版本复制出来，"
            "或重新运行生成全部输出。输入文件未受影响。")  # fmt: skip


def _message(path: Path, exc: OSError, folder: bool = False) -> str:
    """Why ``path`` (an output file, or the output ``folder`` itself) could not be written, and what
    to do: room is asked for only when the disk is full."""
    full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    what = "输出目录" if folder else "输出文件"
    return (f"无法写入{what} {path}：{write_failure(exc)}。没有留下不完整的文件，输入文件未受影响。"
            + ("请清理磁盘空间或换一个输出目录（-o）后重试。" if full else "请换一个输出目录（-o）后重试。"))


# -- what the workbook writers share ---------------------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a large output is built (also a decorator).

    A workbook keeps one small object per cell until it is closed: hundreds of thousands at 10,000
    units. Each of them counts towards the collector's next pass, and its full passes also rescan
    everything the caller holds (the collection and the assessment, over a million objects), to
    free nothing: a third of the writers' time at scale. Reference counting still frees what a
    render drops (see ``close_workbook`` for the one cycle). Left alone when already paused (by
    the caller, or by a render in another thread).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Leave what is alive now (the collection, the assessment) out of cycle collections while the
    outputs are written from it.

    Between two renders the collector runs as usual, and each of its full passes would rescan
    those million-odd objects to free none of them: at 10,000 units an import or a feedback copy
    that happens to trigger one costs up to half a second. Frozen, they are skipped, while cycles
    made in the block (openpyxl's feedback copies) are still collected. A child forked in the block
    also leaves their pages shared. Left alone when something is frozen already (a caller's
    ``gc.freeze()``, or an enclosing block)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def close_workbook(wb) -> None:
    """``wb.close()``, then let go of its cells at once.

    An xlsxwriter worksheet refers back to its workbook (a bound ``add_format``): a closed
    workbook is a reference cycle holding every cell, which only a cycle collection frees (a third
    of a second at 10,000 units). Emptying the written worksheets breaks the cycle, so reference
    counting frees it all when the render returns.
    """
    wb.close()
    for ws in wb.worksheets():
        vars(ws).clear()  # written to the file already; nothing reads the sheet again
