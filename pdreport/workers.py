"""Worker processes that end with the run that started them.

pdreport forks workers (reading many returns, rendering many templates, drawing charts). A run
killed outright (SIGKILL, a closed terminal) gets no chance to stop them, and a worker blocked on
its queue would wait for ever. On Linux the kernel can send each worker SIGKILL when its parent
dies (``PR_SET_PDEATHSIG``); elsewhere this is a no-op and the usual shutdown applies.
"""

from __future__ import annotations

import os
import signal

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
