"""The guard's XML depth scan over all parts of a file at once, in numpy.

The guard (``guard/``) decides with exact, per-part Python scans. For a normal return the depth
scan is a large part of its cost, nearly all of it fixed per part and per tag. ``max_depths``
answers the same question for all parts of one file in a constant number of vectorised passes,
exactly (the same tags and depths as ``xmlscan._max_depth``; ``tests/test_guard_fastscan.py``
compares them on random tag soup). The guard uses it only to *clear* a file: when a depth is over
the limit, the exact per-part scans run again and name the problem.

(The worksheet-extent scan needs no numpy: see ``xmlscan._sheet_bound``.)
"""

from __future__ import annotations

import numpy as np

_LT, _GT, _SLASH = ord("<"), ord(">"), ord("/")
_NAME_START = np.zeros(256, dtype=bool)  # [A-Za-z_], as in xmlscan._FLAGS
_NAME_START[[*range(65, 91), *range(97, 123), 95]] = True


def max_depths(heads: list[bytes]) -> list[int]:
    """``xmlscan._max_depth(head)`` for each head, computed for all of them together."""
    if not heads:
        return []
    # Heads are joined with "\0<\0": that "<" starts no tag and ends none, so no tag spans two
    # heads, and each head's running depth is measured from the separator before it.
    data = _SEPARATOR.join(heads)
    a = np.frombuffer(data, dtype=np.uint8)
    pos = np.flatnonzero((a == _LT) | (a == _GT))
    if pos.size == 0:
        return [0] * len(heads)
    p = np.zeros(a.size + 3, dtype=np.uint8)  # p[i + 1] is a[i]: neighbours never fall off
    p[1 : a.size + 1] = a
    b0, b1, b2 = p[pos], p[pos + 2], p[pos + 3]  # the byte before, and the two after
    is_lt = p[pos + 1] == _LT
    close = is_lt & (b1 == _SLASH) & _NAME_START[b2]  # "</" and a name: a closing tag starts
    open_ = is_lt & _NAME_START[b1]  # "<" and a name: any other tag starts
    end_other = ~is_lt & (b0 != _SLASH)  # ">" not after "/" (after "/": a self-closing end)
    # a tag is a start directly followed by an end: </a> -1, <a> +1, <a/> 0
    delta = np.zeros(pos.size, dtype=np.int64)
    delta[:-1] = open_[:-1] & end_other[1:]
    delta[:-1] -= close[:-1] & ~is_lt[1:]
    running = np.cumsum(delta)
    starts = np.cumsum([0] + [len(h) + len(_SEPARATOR) for h in heads[:-1]])
    first = np.searchsorted(pos, starts, side="left")
    last = np.append(first[1:], pos.size)
    base = np.where(first > 0, running[np.maximum(first - 1, 0)], 0)
    present = last > first
    peaks = np.zeros(len(heads), dtype=np.int64)
    peaks[present] = np.maximum.reduceat(running, first[present]) - base[present]
    return [max(0, int(p)) for p in peaks]


_SEPARATOR = b"\x00<\x00"
