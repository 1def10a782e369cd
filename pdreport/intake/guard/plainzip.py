"""A zip container written the plain way, read in one pass: the guard's fast path for a normal return.

Every spreadsheet program writes an .xlsx (or .ods) the same plain way: members back to back from
byte 0, then the central directory, then one end record; ASCII names; no zip64, no encryption;
deflate or stored. ``plain_members`` reads such a directory with a few ``struct`` calls and checks
each local header against it (``zipfile`` builds a ``ZipInfo`` per member and the guard then read
each local header again: a fifth of its time for a filled template). For anything else it returns
``None``, and the guard reads the file with ``zipfile`` and its exact checks, which name what is
wrong: this path can make a plain file cheaper, never let an unusual one through.

``inflate`` decompresses a whole member into a buffer of exactly its declared size (libdeflate: a
stream that would produce one byte more fails, so a lying header costs nothing), and
``stored_container`` packs the checked parts into a new, uncompressed zip: the reader then parses
exactly the bytes the guard scanned, in a container pdreport wrote, and does not inflate them again.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

try:  # libdeflate: about twice as fast as zlib for a whole member, and bounded by construction;
    # its CRC-32 (the same function as zlib's, with carry-less multiplication) about 8 times
    from deflate import DeflateError, deflate_decompress
    from deflate import crc32 as crc32
except ImportError:  # pragma: no cover - a dependency; zlib gives the same bytes
    DeflateError, deflate_decompress, crc32 = zlib.error, None, zlib.crc32

_CENTRAL = struct.Struct("<4s6H3L5HLL")  # central directory entry, 46 bytes before the name
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes before the name
_END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_PLAIN_FLAGS = 0x800 | 0x8 | 0x6  # UTF-8 names, data descriptor, deflate level: nothing else
_ZIP64_EXTRA, _UNICODE_PATH_EXTRA = 0x0001, 0x7075  # extras that change sizes or the name
_DOS_1980 = 0x21  # 1980-01-01, the earliest date a zip entry can carry


class Member:
    """One entry of a plain directory, with the attributes of ``zipfile.ZipInfo`` the guard reads."""

    __slots__ = ("filename", "flag_bits", "compress_type", "CRC", "compress_size", "file_size",
                 "header_offset", "data_start")  # fmt: skip

    def __init__(self, filename: str, flags: int, method: int, crc: int, csize: int, usize: int,
                 offset: int):  # fmt: skip
        self.filename = filename
        self.flag_bits = flags
        self.compress_type = method
        self.CRC = crc
        self.compress_size = csize
        self.file_size = usize
        self.header_offset = offset
        self.data_start = 0  # where the member's data begins (after its local header)

    def is_dir(self) -> bool:
        return self.filename.endswith("/")


def plain_members(data: bytes, cd_offset: int, cd_size: int, entries: int) -> list[Member] | None:
    """The members of a zip held in ``data`` whose end record (already checked by the guard) gives
    the directory at ``cd_offset`` (``cd_size`` bytes, ``entries`` entries), ordered by position;
    ``None`` unless the container is plain (see the module docstring) and each local header
    agrees with its directory entry (signature, name, method, no encryption)."""
    end = cd_offset + cd_size
    if end > len(data):
        return None
    members: list[Member] = []
    pos = cd_offset
    for _ in range(entries):
        if pos + 46 > end:
            return None
        (sig, _made, _need, flags, method, _time, _date, crc, csize, usize, nlen, elen, clen, disk,
         _iattr, _eattr, offset) = _CENTRAL.unpack_from(data, pos)  # fmt: skip
        name = data[pos + 46 : pos + 46 + nlen]
        extra = data[pos + 46 + nlen : pos + 46 + nlen + elen] if elen else b""
        pos += 46 + nlen + elen + clen
        if (sig != b"PK\x01\x02" or disk or flags & ~_PLAIN_FLAGS or method not in (0, 8)
                or 0xFFFFFFFF in (csize, usize, offset) or pos > end
                or not name.isascii() or b"\x00" in name or b"\\" in name or (extra and not _plain_extra(extra))):  # fmt: skip
            return None
        members.append(Member(name.decode("ascii"), flags, method, crc, csize, usize, offset))
    if pos != end:
        return None
    members.sort(key=lambda m: m.header_offset)
    expected = 0  # members back to back from the first byte up to the directory
    for m in members:
        if m.header_offset != expected or expected + 30 > cd_offset:
            return None
        sig, _v, lflags, lmethod, _t, _d, _c, _cs, _us, lnlen, lelen = _LOCAL.unpack_from(data, expected)
        name_at = expected + 30
        if (sig != b"PK\x03\x04" or lmethod != m.compress_type or lflags & 0x1
                or data[name_at : name_at + lnlen] != m.filename.encode("ascii")):  # fmt: skip
            return None
        m.data_start = name_at + lnlen + lelen
        expected = m.data_start + m.compress_size
        if m.flag_bits & 0x8:  # a data descriptor follows the data: 12 bytes, or 16 with its signature
            expected += 16 if data[expected : expected + 4] == b"PK\x07\x08" else 12
    return members if expected == cd_offset else None


def _plain_extra(extra: bytes) -> bool:
    """Extra fields that fill their space exactly and change neither sizes nor the name."""
    pos, n = 0, len(extra)
    while pos < n:
        if pos + 4 > n:
            return False
        kind, size = struct.unpack_from("<HH", extra, pos)
        if kind in (_ZIP64_EXTRA, _UNICODE_PATH_EXTRA):
            return False
        pos += 4 + size
    return pos == n


def inflate(raw: bytes, size: int) -> bytes | None:
    """The raw deflate stream ``raw`` decompressed to exactly ``size`` bytes, or ``None`` when it
    does not produce exactly that many (or is not a valid stream). Never produces more than
    ``size`` bytes, whatever the stream says."""
    if deflate_decompress is not None:
        try:
            out = deflate_decompress(raw, size)  # (fails rather than write past ``size``)
        except DeflateError:
            return None
        return bytes(out) if len(out) == size else None
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(raw, size + 1)
    except zlib.error:
        return None
    return out if d.eof and len(out) == size else None


def stored_container(parts: list[tuple[Member, bytes]]) -> bytes:
    """A new zip holding ``parts`` (each member with its checked, inflated bytes) in that order,
    uncompressed, named and CRC'd as in the original."""
    body: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m, data in parts:
        name = m.filename.encode("ascii")
        size = len(data)
        body += (_LOCAL.pack(b"PK\x03\x04", 20, 0, zipfile.ZIP_STORED, 0, _DOS_1980, m.CRC, size, size,
                             len(name), 0), name, data)  # fmt: skip
        central += (_CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, zipfile.ZIP_STORED, 0, _DOS_1980, m.CRC,
                                  size, size, len(name), 0, 0, 0, 0, 0, offset), name)  # fmt: skip
        offset += 30 + len(name) + size
    directory = b"".join(central)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join(body) + directory + end
