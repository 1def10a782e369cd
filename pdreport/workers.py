"""Worker processes that end with the run that started them.

pdreport forks workers (reading many returns, rendering many templates, drawing charts). A run
killed outright (SIGKILL, a closed terminal) gets no chance to stop them, and a worker blocked on
its queue would wait for ever. On Linux the kernel can send each worker SIGKILL when its parent
dies (``PR_SET_PDEATHSIG``); elsewhere this is a no-op and the usual shutdown applies.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a forked worker, with the parent's pid read before the fork."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: nothing to ask for
        return
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


class Forked:
    """``fn()`` (returning bytes) run in a forked child while the caller does other work.

    ``result()`` returns the child's bytes, or runs ``fn()`` here if the child could not deliver
    them (not forked, died, raised): any failure there only means the work is done here, as
    without the child, so errors surface in the caller exactly as they would have. The child sees
    the caller's memory as it was at the fork (nothing is pickled on the way in). ``setup``, if
    given, runs first in the child only (never here)."""

    def __init__(self, fn: Callable[[], bytes], setup: Callable[[], None] | None = None):
        self._fn = fn
        self._process = None
        self._conn = None
        try:
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_forked_main, args=(fn, setup, child, parent, os.getpid()), daemon=True)
            self._process.start()
        except (ValueError, OSError):
            self._process = None
            return
        child.close()
        self._conn = parent

    def result(self, timeout: float | None = None) -> bytes:
        """``timeout``: seconds to wait for the child before doing the work here instead."""
        data = None
        if self._conn is not None:
            try:
                if timeout is None or self._conn.poll(timeout):
                    data = self._conn.recv_bytes()
            except (EOFError, OSError):
                data = None
        self.close()
        return data if data is not None else self._fn()

    def close(self) -> None:
        """Stop the child if it is still running (harmless when done, or called twice)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _forked_main(fn: Callable[[], bytes], setup: Callable[[], None] | None, conn, parent_end,
                 parent_pid: int) -> None:  # fmt: skip
    die_with_parent(parent_pid)
    parent_end.close()  # the only reader is the parent: if it is gone, sending fails at once
    try:
        if setup is not None:
            setup()
        data = fn()
    except BaseException:  # noqa: BLE001 - the parent runs fn again and reports
        return
    try:
        conn.send_bytes(data)
        conn.close()
    except OSError:  # the parent is gone
        pass


def discard_stderr() -> None:
    """Send this process's stderr (file descriptor 2, which native code writes to) to nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
