"""The guard's two byte scans over a whole file at once, in numpy: the nesting depth of XML heads
and the furthest cell a worksheet uses.

The guard (``guard.py``) decides with exact, per-part Python scans. For a normal return those scans
are most of its cost, and nearly all of it is fixed per part and per tag. These functions answer
the same questions for all parts of one file in a constant number of vectorised passes, and they
only ever *clear* a file: when an answer is over a limit, or the bytes are not in the canonical form
this scan assumes, the guard runs its exact scans again and they name the problem. So:

* ``max_depths`` is exact: the same tags and the same depths as ``guard._max_depth``
  (``tests/test_guard_fastscan.py`` compares them on random tag soup).
* ``sheet_extent`` reads the ``r`` of every ``<c r="…"`` and ``<row r="…"`` tag written the way
  spreadsheet programs write them (``r`` first, after one space, no namespace prefix) and returns
  ``None`` as soon as any ``<c``/``<row`` tag is written otherwise; it also counts empty
  ``<row …/>`` tags, which the exact scan skips, so it is never below the exact answer.

Why the scans are needed at all: calamine densifies a sheet to its bounding rectangle, so two
cells far apart make it allocate hundreds of GB and abort the process (tafia/calamine#693).
"""

from __future__ import annotations

import numpy as np

_LT, _GT, _SLASH = ord("<"), ord(">"), ord("/")
_NAME_START = np.zeros(256, dtype=bool)  # [A-Za-z_], as in guard._FLAGS
_NAME_START[[*range(65, 91), *range(97, 123), 95]] = True
_START_CLOSE, _START_OPEN, _LT_OTHER, _END_EMPTY, _END_OTHER = 1, 2, 3, 4, 5


def max_depths(heads: list[bytes]) -> list[int]:
    """``guard._max_depth(head)`` for each head, computed for all of them together."""
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
_QUOTES = np.zeros(256, dtype=bool)
_QUOTES[[ord('"'), ord("'")]] = True
_LETTER = np.zeros(256, dtype=bool)
_LETTER[[*range(65, 91), *range(97, 123)]] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True
_SPACE = np.zeros(256, dtype=bool)  # what the exact scan's \s matches (\f and \v included)
_SPACE[[32, 9, 10, 11, 12, 13]] = True
_FAR_ROW, _FAR_COL = 10_000_000, 16_384  # stand-ins for 7+ digits / 4+ letters: over any limit


def sheet_extent(parts: list[bytes]) -> tuple[int, int] | None:
    """(rows, columns) as far as any ``<c>`` or ``<row>`` reference in ``parts`` reaches, or
    ``None`` when a tag is not in the form every spreadsheet program writes, ``<c r="A1"`` and
    ``<row r="1"`` (``r`` first, one space, no namespace prefix): the exact scan must decide.
    A reference of 4+ letters or 7+ digits counts as column 16384 / row 10 000 000."""
    if not parts:
        return 0, 0
    data = b"\x00<".join(parts)
    a = np.frombuffer(data, dtype=np.uint8)
    p = np.zeros(a.size + 24, dtype=np.uint8)  # a, then zeros: windows never fall off the end
    p[: a.size] = a
    lts = np.flatnonzero(a == _LT)
    b = [p[lts + k] for k in range(1, 8)]  # the 7 bytes after each "<"
    c_tag = (b[0] == ord("c")) & _SPACE[b[1]]
    row_tag = (b[0] == ord("r")) & (b[1] == ord("o")) & (b[2] == ord("w")) & _SPACE[b[3]]
    cells = c_tag & (b[1] == 32) & (b[2] == ord("r")) & (b[3] == ord("=")) & _QUOTES[b[4]]
    rows = row_tag & (b[3] == 32) & (b[4] == ord("r")) & (b[5] == ord("=")) & _QUOTES[b[6]]
    if (c_tag & ~cells).any() or (row_tag & ~rows).any() or _prefixed_cell_or_row(a, p):
        return None
    max_row, max_col = _extent(p, lts[cells] + 6, letters=True)
    rows_only, _ = _extent(p, lts[rows] + 8, letters=False)
    return max(max_row, rows_only), max_col


def _prefixed_cell_or_row(a: np.ndarray, p: np.ndarray) -> bool:
    """Whether ``:c`` or ``:row`` followed by white space occurs (``<x:c r=…>``)."""
    colons = np.flatnonzero(a == ord(":"))
    c = (p[colons + 1] == ord("c")) & _SPACE[p[colons + 2]]
    row = (p[colons + 1] == ord("r")) & (p[colons + 2] == ord("o")) & (p[colons + 3] == ord("w"))
    return bool(c.any() or (row & _SPACE[p[colons + 4]]).any())


def _extent(p: np.ndarray, starts: np.ndarray, letters: bool) -> tuple[int, int]:
    """The largest row number and column number among the references starting at ``starts``
    (letters, then digits, as the exact scan reads them); one byte column at a time."""
    if starts.size == 0:
        return 0, 0
    n_letters = np.zeros(starts.size, dtype=np.int64)
    max_col = 0
    if letters:
        run = np.ones(starts.size, dtype=bool)
        for k in range(4):
            run &= _LETTER[p[starts + k]]
            n_letters += run
        top = int(n_letters.max())
        if top >= 4:
            max_col = _FAR_COL
        elif top > 0:
            at = starts[n_letters == top]
            col = np.zeros(at.size, dtype=np.int64)
            for k in range(top):
                col = col * 26 + ((p[at + k] & 0xDF).astype(np.int64) - 64)  # a-z as A-Z
            max_col = int(col.max())
    first = starts + n_letters
    n_digits = np.zeros(starts.size, dtype=np.int64)
    run = np.ones(starts.size, dtype=bool)
    for k in range(7):
        run &= _DIGIT[p[first + k]]
        if not run.any():
            break
        n_digits += run
    top = int(n_digits.max())
    if top > 6:
        return _FAR_ROW, max_col
    if top == 0:
        return 0, max_col
    at = first[n_digits == top]
    row = np.zeros(at.size, dtype=np.int64)
    for k in range(top):
        row = row * 10 + (p[at + k].astype(np.int64) - 48)
    return int(row.max()), max_col
