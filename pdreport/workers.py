"""Worker processes that end with the run that started them.

pdreport forks workers (reading many returns, rendering many templates, building many feedback
copies, drawing charts). A run killed outright (SIGKILL, a closed terminal) gets no chance to
stop them, and a worker blocked on its queue would wait for ever. On Linux the kernel can send
each worker SIGKILL when its parent dies (``PR_SET_PDEATHSIG``); elsewhere this is a no-op and
the usual shutdown applies.
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


class _Child:
    """A forked child and the parent's end of its pipe: the bytes it sends, and stopping it."""

    _process = None
    _conn = None

    def _fork(self, target: Callable, args: tuple, duplex: bool) -> None:
        try:
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe(duplex=duplex)
            self._process = ctx.Process(target=target, args=(*args, child, parent, os.getpid()), daemon=True)
            self._process.start()
        except (ValueError, OSError):
            self._process = None
            return
        child.close()
        self._conn = parent

    def delivered(self, timeout: float | None = None) -> bytes | None:
        """The child's bytes, or ``None`` when it could not deliver them (not forked, died,
        raised, silent past ``timeout``): nothing is run here, the caller decides what to do."""
        data = None
        if self._conn is not None:
            try:
                if timeout is None or self._conn.poll(timeout):
                    data = self._conn.recv_bytes()
            except (EOFError, OSError):
                data = None
        self.close()
        return data

    def close(self) -> None:
        """Stop the child if it is still running (harmless when done, or called twice)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Forked(_Child):
    """``fn()`` (returning bytes) run in a forked child while the caller does other work.

    ``result()`` returns the child's bytes, or runs ``fn()`` here if the child could not deliver
    them (not forked, died, raised): any failure there only means the work is done here, as
    without the child, so errors surface in the caller exactly as they would have. The child sees
    the caller's memory as it was at the fork (nothing is pickled on the way in). ``setup``, if
    given, runs first in the child only (never here)."""

    def __init__(self, fn: Callable[[], bytes], setup: Callable[[], None] | None = None):
        self._fn = fn
        self._fork(_forked_main, (fn, setup), duplex=False)

    def result(self, timeout: float | None = None) -> bytes:
        """``timeout``: seconds to wait for the child before doing the work here instead."""
        data = self.delivered(timeout)
        return data if data is not None else self._fn()


class Preloaded(_Child):
    """A child forked now, which imports ``modules`` while the caller works (a slow import kept off
    its path), then runs the one job ``run(fn, *args)`` sends it: ``fn`` a module-level function
    returning bytes, ``args`` pickled on the way. ``delivered`` gives its bytes, or ``None`` when
    the child could not deliver them: the caller then does the work itself. ``close`` when the job
    is not needed after all. No child on one core (there is no other to import on)."""

    def __init__(self, modules: tuple[str, ...]):
        if (os.cpu_count() or 1) >= 2:
            self._fork(_preloaded_main, (modules,), duplex=True)

    def run(self, fn: Callable[..., bytes], *args) -> bool:
        """Send the job; False (the child closed) when it could not be sent."""
        if self._conn is None:
            return False
        try:
            self._conn.send((fn, args))
        except Exception:  # noqa: BLE001 - e.g. an argument that cannot be pickled: done by the caller
            self.close()
            return False
        return True


def _preloaded_main(modules: tuple[str, ...], conn, parent_end, parent_pid: int) -> None:
    def imports() -> None:
        import importlib

        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the job says what is wrong (in the caller, run again)
                pass

    def job() -> bytes:
        fn, args = conn.recv()
        return fn(*args)

    _forked_main(job, imports, conn, parent_end, parent_pid)


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


class Ahead:
    """``fn(i)`` (bytes) for each ``i`` in ``range(n)``, computed ahead in forked worker processes
    (one per core, ``chunk`` items a task) while the caller takes them in order with ``get(i)``.

    ``get(i)`` is ``None`` when item ``i`` could not be computed there (``fn`` raised, or the pool
    broke): the caller then computes it itself, so errors surface exactly as without workers. The
    workers see the caller's memory as it was at the fork (only the results are pickled).
    ``start`` gives ``None`` (work here) for fewer than ``min_items``, one core, or no fork."""

    def __init__(self, pool, parts):
        self._pool = pool
        self._parts = parts  # an iterator over lists of (index, bytes | None), in index order
        self._got: dict[int, bytes | None] = {}

    @classmethod
    def start(cls, fn: Callable[[int], bytes], n: int, min_items: int, chunk: int) -> Ahead | None:
        cpus = os.cpu_count() or 1
        if cpus < 2 or n < min_items:
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            return None
        chunks = [list(range(i, min(i + chunk, n))) for i in range(0, n, chunk)]
        try:
            pool = ProcessPoolExecutor(cpus, mp_context=ctx, initializer=_init_ahead, initargs=(os.getpid(), fn))
        except OSError:
            return None
        try:
            parts = pool.map(_ahead_chunk, chunks)  # (forks the workers: may fail here too)
        except OSError:
            pool.shutdown(wait=True, cancel_futures=True)
            return None
        return cls(pool, parts)

    def get(self, i: int) -> bytes | None:
        while i not in self._got and self._parts is not None:
            try:
                self._got.update(next(self._parts))
            except StopIteration:
                self._parts = None
            except Exception:  # noqa: BLE001 - a broken pool: the rest is computed by the caller
                self._parts = None
        return self._got.pop(i, None)

    def close(self) -> None:
        self._parts = None
        self._pool.shutdown(wait=True, cancel_futures=True)


_AHEAD: Callable[[int], bytes] | None = None  # in an Ahead worker: the function it computes


def _init_ahead(parent_pid: int, fn: Callable[[int], bytes]) -> None:
    global _AHEAD
    die_with_parent(parent_pid)
    _AHEAD = fn


def _ahead_chunk(indices: list[int]) -> list[tuple[int, bytes | None]]:
    out = []
    for i in indices:
        try:
            out.append((i, _AHEAD(i)))  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - the caller computes it again and raises there
            out.append((i, None))
    return out
