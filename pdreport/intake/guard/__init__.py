"""Security at the door: decide, cheaply and in bounded time and memory, whether a returned file
is safe and plausible to hand to a parser (python-calamine, openpyxl).

Returned workbooks are untrusted. ``guard_file`` never raises for any input; everything wrong is a
:class:`~pdreport.findings.Finding` (any error finding means: do not parse). The kind of file is
taken from its content (magic bytes, zip members, container streams), never from its name.

Checked for the parser that follows: by default python-calamine, which streams XML (nesting depth
cannot hurt it) and never opens the parts in ``CALAMINE_SKIPS`` (those are checked in the zip
directory only); with ``for_openpyxl=True`` every part and the nesting depth as well, for
openpyxl, which builds a tree of each part (feedback copies; .xlsx with unconvertible dates).

What is read, and why it stays bounded
--------------------------------------
* Nothing is followed: symlinks are refused (``lstat`` first, then ``O_NOFOLLOW``), as are
  directories and special files. The file is opened once and never read past the size seen by
  ``fstat``, which is capped by :attr:`Limits.max_file_bytes`.
* **Zip (xlsx/xlsm/ods)**: the end-of-central-directory record is read first and the member
  count and directory size are checked *before* ``zipfile`` builds its member list. The archive
  must read one way only: one end record whose comment ends the file, no disk numbers, no zip64
  records, and members back to back from byte 0 up to the directory, which ends at the end record
  (zip readers differ in which directory they believe; calamine's must be the one checked). Declared
  sizes are then checked (count, total, ratio, stored sizes, overlapping or out-of-range members,
  duplicate names, compression methods). Only then is each member inflated, as a stream in
  small chunks that are scanned and dropped: inflation of a member stops as soon as it produces
  more than it declared (headers that lie), so the total work is bounded by
  :attr:`Limits.max_total_uncompressed` and memory by the chunk size (by 4 MiB for a small
  member inflated in one call, see below). The CRC of each member is checked. Nothing is
  extracted or kept.
* **XML parts** (any member whose content starts like XML, whatever its name): the first
  :attr:`Limits.xml_head_bytes` are checked for ``<!DOCTYPE``/``<!ENTITY``, a prolog that never
  ends, UTF-16/32 encodings (which would blind the byte scans below) and nesting depth. The rest
  is scanned, chunk by chunk, with a few byte regexes chosen by the part's root element:
  ``worksheet`` (declared ``<dimension>`` and the furthest cell reference — a single far-away
  cell makes calamine allocate the whole rectangle), ``workbook`` (number of sheets), ``sst``
  (shared strings declared and present), ODS ``document-content`` (tables, and the extent of
  non-empty repeated rows and cells). A part holding ``<sheetData>`` is scanned as a worksheet
  whatever its root (calamine reads what the workbook names), and in a worksheet every ``<c>``
  and ``<row>`` must be written plainly, ``r`` first: quick-xml skips a quoted ">", takes any
  prefix and numbers a cell without ``r`` itself, so any other form could hide a far cell.
* **One pass for a normal file**: a file up to ``_SLURP_MAX`` is read into memory once; a zip
  written the plain way is read from its directory with ``struct`` (``plainzip.py``; anything
  else goes through ``zipfile`` and every check above); each member up to ``_WHOLE_MAX`` is
  inflated in one call into exactly its declared size (libdeflate), and parts whose size alone
  bounds a count (``<si>``, ``<sheet>``) are not counted (a longer workbook part, as Excel and
  openpyxl write them, has its ``<sheet>`` tags counted in the same pass). A worksheet whose
  cells and rows are all written the usual way (``<c r="B12"``, ``<row r="12"``, at most two column letters and six row
  digits) is bounded by a few searches over its ``<sheetData>`` (``_sheet_bound``) instead of a
  Python object per reference. A normal return is cleared in one lean pass (``_clear_plainly``);
  for openpyxl, when all members together declare at most ``_BATCH_MAX`` and numpy is loaded,
  the depth scan is done for all parts of the file together (``fastscan.py``). These shortcuts
  only ever *clear*: anything unusual (a member that does not inflate as declared, a depth or
  extent over a limit, a form the shortcut does not read) goes to the exact scans above, which
  find and name the problem; ``tests/test_corpus.py`` checks that both give the same findings.
  The checked parts are then repacked into a new, uncompressed zip (``GuardResult.data``): the
  reader parses exactly the bytes checked here, and does not inflate them again.
* **CFB/OLE (xls, password-protected OOXML)**: the 512-byte header, the FAT, and the directory
  are parsed here (no dependency). ``EncryptionInfo``/``EncryptedPackage`` streams mean a
  password-protected xlsx. For xls the ``Workbook`` stream (at most the file's size) is walked
  record by record: ``FILEPASS`` means encrypted; ``BOUNDSHEET`` records are counted; cell
  records give each sheet's extent.

Where it lives
--------------
``files.py`` opens the file and tells containers apart by their first bytes; ``zipcheck.py`` checks
zip containers, ``cfb.py`` CFB containers; ``xmlscan.py`` holds the byte scans of XML parts;
``plainzip.py`` reads a plainly written zip in one pass and repacks the checked parts;
``fastscan.py`` is the numpy depth scan; ``base.py`` has ``Limits``, ``GuardResult`` and the hints.
``guard_file`` below is the one entry point.
"""

from __future__ import annotations

from pathlib import Path

from ...findings import Code
from .base import (
    CALAMINE_SKIPS,
    DECRYPT,
    KINDS,
    RESAVE,
    SEND_TEMPLATE,
    TAMPERED,
    TRIM,
    GuardResult,
    Limits,
    _finding,
    _IOFail,
    _Stop,
)
from .files import _Guard

__all__ = ["CALAMINE_SKIPS", "DECRYPT", "KINDS", "RESAVE", "SEND_TEMPLATE", "TAMPERED", "TRIM", "GuardResult",
           "Limits", "guard_file"]  # fmt: skip

# Tests set this to True so that a bug in the guard surfaces instead of becoming a finding.
_RAISE_UNEXPECTED = False


def guard_file(path: Path | str, limits: Limits = Limits(), *, for_openpyxl: bool = False) -> GuardResult:  # noqa: B008
    """Check one returned file before any parser touches it. Never raises.

    By default the checks are those python-calamine needs, on the parts it reads (see
    ``CALAMINE_SKIPS``): calamine parses XML as a stream, so neither nesting depth nor the parts
    it never opens can hurt it. ``for_openpyxl=True`` checks every part and the nesting depth as
    well, for openpyxl, which builds a tree of each part: call it again before openpyxl opens a
    file that passed (a feedback copy, an .xlsx with dates calamine cannot convert)."""
    file = str(path)
    g = _Guard(Path(path), file, limits, for_openpyxl)
    try:
        kind = g.run()
    except _Stop:
        kind = g.kind
    except _IOFail as exc:
        g.findings.append(_finding(Code.UNREADABLE, f"读取文件时出错（{exc.reason}）",
                                   "请重新拷贝该文件后重试", file))  # fmt: skip
        kind = g.kind
    except Exception as exc:  # noqa: BLE001 - the guard must never raise on input
        if _RAISE_UNEXPECTED:
            raise
        g.findings.append(_finding(Code.CORRUPT, "检查文件时遇到无法识别的内部结构，文件可能已损坏",
                                   RESAVE, file, value=type(exc).__name__))  # fmt: skip
        kind = ""
    reader = g.reader
    return GuardResult(
        kind=kind if kind in KINDS else "",
        findings=g.findings,
        bytes_read=reader.bytes_read if reader else 0,
        bytes_inflated=g.inflated,
        mtime=g.mtime,
        dates_out_of_range=g.dates_out_of_range,
        data=(g.container or reader.data) if reader and not g.findings else None,
    )


