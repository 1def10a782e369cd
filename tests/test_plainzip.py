"""``intake/guard/plainzip.py``: the guard's one-pass reading of a plainly written zip.

Whatever it accepts, it must read exactly as ``zipfile`` does (names, sizes, CRCs, where each
member's data starts); whatever is not plain it must leave to the exact path (``None``).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from pdreport.intake.guard import plainzip

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_./[]", min_size=1, max_size=30).filter(
    lambda n: not n.startswith("/") and not n.endswith("/")
)
MEMBERS = st.dictionaries(NAMES, st.binary(max_size=3000), min_size=1, max_size=12)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, comment: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.comment = comment
    return buf.getvalue()


def _end(data: bytes) -> tuple[int, int, int]:
    pos = data.rfind(b"PK\x05\x06")
    _sig, _d, _c, _here, entries, cd_size, cd_offset, _clen = struct.unpack_from("<4s4H2LH", data, pos)
    return cd_offset, cd_size, entries


@settings(max_examples=150, deadline=None)
@given(MEMBERS, st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
def test_plain_members_read_as_zipfile_reads_them(members, method):
    data = _zip(members, method)
    plain = plainzip.plain_members(data, *_end(data))
    assert plain is not None
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = sorted(z.infolist(), key=lambda i: i.header_offset)
        assert [m.filename for m in plain] == [i.filename for i in infos]
        for m, i in zip(plain, infos, strict=True):
            assert (m.compress_type, m.CRC, m.compress_size, m.file_size, m.header_offset) == (
                i.compress_type, i.CRC, i.compress_size, i.file_size, i.header_offset)
            raw = data[m.data_start : m.data_start + m.compress_size]
            out = raw if m.compress_type == zipfile.ZIP_STORED else plainzip.inflate(raw, m.file_size)
            assert out == z.read(i)


@settings(max_examples=60, deadline=None)
@given(MEMBERS)
def test_the_repacked_container_holds_the_same_parts(members):
    data = _zip(members)
    plain = plainzip.plain_members(data, *_end(data))
    parts = [(m, plainzip.inflate(data[m.data_start : m.data_start + m.compress_size], m.file_size))
             for m in plain]  # fmt: skip
    repacked = plainzip.stored_container(parts)
    with zipfile.ZipFile(io.BytesIO(repacked)) as z:
        assert z.testzip() is None
        assert {i.filename: z.read(i) for i in z.infolist()} == members
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    assert plainzip.plain_members(repacked, *_end(repacked)) is not None


def test_what_is_not_plain_is_left_to_the_exact_path():
    members = {"xl/workbook.xml": b"<workbook/>", "xl/styles.xml": b"<styleSheet/>"}
    data = _zip(members)
    assert plainzip.plain_members(data, *_end(data)) is not None
    # data before the first member, a gap between members, a name that is not ASCII
    assert plainzip.plain_members(b"X" + data, *[v + (i == 0) for i, v in enumerate(_end(data))]) is None
    assert plainzip.plain_members(_zip({"名称.xml": b"<a/>"}), *_end(_zip({"名称.xml": b"<a/>"}))) is None
    # a local header that names another member than the directory does
    bad = data.replace(b"xl/styles.xml", b"xl/stylez.xml", 1)
    assert plainzip.plain_members(bad, *_end(bad)) is None
    # a zip64 extra field in the directory (it may change sizes and offsets)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("big.xml", (2024, 1, 1, 0, 0, 0))
        info.extra = struct.pack("<HHQ", 1, 8, 4)
        z.writestr(info, b"<a/>")
    assert plainzip.plain_members(buf.getvalue(), *_end(buf.getvalue())) is None


def test_inflate_never_gives_more_or_less_than_declared():
    body = b"<row/>" * 5000
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(body) + c.flush()
    assert plainzip.inflate(raw, len(body)) == body
    assert plainzip.inflate(raw, len(body) - 1) is None  # the stream says more: stopped
    assert plainzip.inflate(raw, len(body) + 1) is None
    assert plainzip.inflate(raw[:-5], len(body)) is None
    assert plainzip.inflate(b"not deflate", 10) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000), st.binary(max_size=300), st.integers(0, 2**32 - 1))
def test_crc32_is_zlibs(a, b, start):
    """The guard checks each member's CRC with libdeflate's crc32, chunk by chunk when streamed:
    it must be zlib's function exactly (the CRC a zip records), running value included."""
    assert plainzip.crc32(a) == zlib.crc32(a)
    assert plainzip.crc32(b, plainzip.crc32(a)) == zlib.crc32(a + b)
    assert plainzip.crc32(a, start) == zlib.crc32(a, start)
    assert plainzip.crc32(bytearray(a)) == zlib.crc32(a)
