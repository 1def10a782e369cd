"""The guard's C-level and whole-file (numpy) scans agree with the per-tag Python versions."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_intake_guard import rezip

from pdreport.intake.guard.xmlscan import _max_depth, _max_depth_reference
from pdreport.template.layout import Field, LabelCell
from pdreport.template.metadata import (
    FIELDS_MARK,
    HEAD_KEYS,
    LABELS_MARK,
    MAGIC,
    MAX_MAP_ROWS,
    MetadataError,
    TemplateMap,
    _check_shape,
    _digest,
    _text,
)

_PIECES = [b"<", b">", b"/", b"a", b"Z", b"_", b"1", b" ", b"\x00", b"\x01", b"\xff", b"!", b"?",
           b"=", b'"', b"<a>", b"</a>", b"<a/>", b"<x:y z='1'>", b"</x:y>", b"<!--", b"-->",
           b"<?xml?>", b"L", b"G", b"c", b"e", b"@", b"[", b"`", b"{"]  # fmt: skip
_SOUP = st.lists(st.sampled_from(_PIECES), max_size=60).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(_SOUP, st.integers(0, 70))
def test_depth_matches_reference_on_tag_soup(soup: bytes, start: int) -> None:
    start = min(start, len(soup))
    assert _max_depth(soup, start) == _max_depth_reference(soup, start)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_depth_matches_reference_on_any_bytes(data: bytes) -> None:
    assert _max_depth(data) == _max_depth_reference(data)


def test_depth_deep_and_long() -> None:
    deep = b"<r>" + b"<a>" * 100 + b"</a>" * 100 + b"</r>"
    assert _max_depth(deep) == _max_depth_reference(deep) == 101
    long = b"<r>" + b'<c r="A1" s="2"><v>1</v></c>' * 5000 + b"</r>"  # longer than the cached mask
    assert _max_depth(long) == _max_depth_reference(long) == 3


_SHEET_PIECES = [b"<c r=\"A1\">", b"<c r='ZZ99' s=\"1\"/>", b"<x:c r=\"B2\">", b"<row r=\"5\">",
                 b"<row r=\"70\"/>", b"<row spans=\"1:2\" r=\"9\" >", b"<c s=\"1\" r=\"AB12", b"<c>",
                 b"<row:c r=\"Q3\">", b"<crow r=\"1\">", b"</c>", b"<v>1</v>", b"<", b">", b" ", b"r=\"4\"",
                 b"<row r=\"\"/>", b"<c r=\"12\">", b"<c\tr = 'x7'>", b"</row>", b"</x:row >", b"</row \n>"]  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_SHEET_PIECES), max_size=40).map(b"".join))
def test_sheet_refs_match_the_two_scans(buf: bytes) -> None:
    from pdreport.intake.guard.xmlscan import _CELL_REF, _ROW_REF, _SHEET_REFS

    refs = _CELL_REF.findall(buf)
    want_cols = {letters for letters, _ in refs if letters}
    want_rows = {d for _, d in refs} | {d for d, end in _ROW_REF.findall(buf) if end == b">"}
    both = _SHEET_REFS.findall(buf)
    got_cols = {t[0] for t in both if t[0]}
    got_rows = {t[1] for t in both} | {t[2] for t in both if t[3] == b">"}
    assert got_cols == want_cols
    assert got_rows - {b""} == want_rows - {b""}


# -- fastscan: the whole-file scans only ever clear what the exact scans clear --------------------


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(_SOUP, st.integers(0, 70)), max_size=6))
def test_fastscan_depths_equal_the_exact_depths(parts: list[tuple[bytes, int]]) -> None:
    from pdreport.intake.guard.fastscan import max_depths

    heads = [soup[min(cut, len(soup)):] for soup, cut in parts]
    assert max_depths(heads) == [_max_depth(h) for h in heads]


def test_fastscan_depths_deep_heads_next_to_each_other() -> None:
    from pdreport.intake.guard.fastscan import max_depths

    deep = b"<a>" * 80
    heads = [b"<r>", deep, b"</a>" * 80, b"<", b"/x>", deep + b"</a>" * 80, b""]
    assert max_depths(heads) == [_max_depth(h) for h in heads] == [1, 80, 0, 0, 0, 80, 0]


def _exact_extent(buf: bytes) -> tuple[int, int]:
    from pdreport.intake.guard.xmlscan import _col_number, _int

    rows, cols = 0, 0
    for letters, digits, row_digits, closed in _SHEET_REFS_.findall(buf):
        if letters:
            cols = max(cols, _col_number(letters))
        for d in (digits, "" if closed else row_digits):
            if d:
                rows = max(rows, _int(d))
    return rows, cols


from pdreport.intake.guard.xmlscan import _SHEET_REFS as _SHEET_REFS_  # noqa: E402

_FAR_PIECES = _SHEET_PIECES + [b"<c r=\"XFD1048576\">", b"<c r=\"ALL100000\"/>", b"<c r=\"ALM1\">",
                               b"<c r=\"A1000001\">", b"<row r=\"99999999\">", b"<c r=\"abc12\">",
                               b"<dataValidation operator=\"lessThan\">", b"<worksheet xmlns:r=\"http://x\">",
                               b"<c r=\"HTTP\">", b"\x00", b"<averyveryverylongname:c r=\"ZZZZ1\">",
                               b"<c\x0br=\"XFD9\">", b"<row\x0cr=\"99999999\">"]  # fmt: skip


_FAR_PIECES += [b"<c r=\"AA1000\">", b"<row r=\"0001\">", b"<c r=\"B0012\"/>", b"<c r=\"K165\">",
                b"<c r=\"ZZ999999\">", b"<c r=\"Z9\" s=\"2\">", b"<row r='123456'>",
                # a second r (calamine keeps the last), and r written with white space around "="
                b"<c r=\"A1\" r=\"XFD99\">", b"<row r=\"1\" r=\"9999999\">", b" r=\"B88888\"", b"<c r =\"A1\">",
                b"<c r= \"A1\">", b"<c r=\"A1\" r =\"XFD1\">", b"<c r=\"A1\"\tr=\"ZZ1\">",
                # numbers calamine cannot turn into dates: read in a cell, not in a validation rule
                b"<c r=\"B2\" s=\"3\"><v>-1E+300</v></c>", b"<formula1>-2E+11</formula1>"]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_FAR_PIECES), max_size=30).map(b"".join))
def test_sheet_bound_is_never_below_the_exact_scan(part: bytes) -> None:
    from pdreport.intake.guard.xmlscan import _sheet_bound

    got = _sheet_bound(part)
    if got is None:  # a tag not in the usual form, or a far reference: the exact scan decides
        return
    rows, cols = got
    exact_rows, exact_cols = _exact_extent(part)
    assert rows >= exact_rows and cols >= exact_cols


def test_sheet_bound_of_real_returns(demo_returns) -> None:
    import zipfile

    from pdreport.intake.guard.xmlscan import _sheet_bound

    for path in sorted(Path(demo_returns[0]).glob("*.xlsx")):
        z = zipfile.ZipFile(path)
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert _sheet_bound(z.read(name)) == (999, 26)  # cleared in one search each
    assert _sheet_bound(b'<row r="7"><c r="AB12" s="1"><v>1</v></c></row>') == (999, 702)
    assert _sheet_bound(b'<row r="7"><c r="B1200" s="1"><v>1</v></c></row>') == (1200, 26)
    assert _sheet_bound(b'<row r="99000"/><c r="a1">') == (99000, 26)
    assert _sheet_bound(b'<c r="A0012"><c r="A500">') == (999, 26)  # leading zeros
    for far in (b'<c r="ZZZ1">', b'<c r="ABCD1">', b'<c r="A1234567">', b'<row r="1234567">'):
        assert _sheet_bound(far) is None  # read by the exact scan only
    # a second r, or one written with white space, is never cleared by the usual-case searches
    for two in (b'<c r="A1" r="XFD1048576">', b'<row r="1" r="1048576">', b'<c r="A1" r ="XFD1">',
                b'<c r="A1"\tr="ZZZ1">'):
        assert _sheet_bound(two) in (None, (1048576, 26)), two
    for odd in (b'<c s="1" r="A1">', b'<x:c r="A1">', b'<c  r="A1">', b'<row spans="1:2" r="3">',
                b'<c\x0br="XFD1">', b'<row\x0cr="9">', b'<x:c\x0br="A1">', b'<x:row r="1">'):
        assert _sheet_bound(odd) is None


def _outcome(fn, rows):
    from pdreport.template.metadata import MetadataError

    try:
        return fn(rows)
    except MetadataError as exc:
        return ("error", str(exc))


def test_parse_metadata_matches_reference_on_edited_maps() -> None:
    """The remembered field map gives what parsing every row gives, for intact and edited maps."""
    import random

    from pdreport.intake.read import open_workbook
    from pdreport.template.layout import META
    from pdreport.template.metadata import parse_metadata

    files = sorted((Path(__file__).resolve().parents[1] / "sample_workbooks").glob("*.xlsx"))[:6]
    rng = random.Random(7)
    for path in files:
        rows = open_workbook(path).grid(META)
        variants = [rows, [list(r) for r in rows]]
        for _ in range(40):
            v = [list(r) for r in rows]
            i = rng.randrange(len(v))
            if v[i]:
                j = rng.randrange(len(v[i]))
                v[i][j] = rng.choice(["", " x ", "1", 1.0, True, None, "[labels]", "[fields]", "abc", "Z9"])
            if rng.random() < 0.2:
                del v[rng.randrange(len(v))]
            variants.append(v)
        for v in variants:
            want = _outcome(_parse_metadata_reference, v)
            assert _outcome(parse_metadata, v) == want
            assert _outcome(parse_metadata, v) == want  # remembered


def test_remembered_field_maps_stay_bounded() -> None:
    """Each remembered map keeps a copy of its rows: no more than ``_TAILS_MAX`` in all, however
    many distinct maps a run reads, and never more than ``_BUCKET_MAX`` of one shape."""
    from pdreport.template import metadata

    metadata._TAILS.clear()
    cleared = False
    for n in range(2 * metadata._TAILS_MAX):
        rows = [["x" + str(n), "指标", "C5"], ["[labels]"]] + [["指标", "A1", "名称"]] * (n % 100 + 1)
        before = sum(map(len, metadata._TAILS.values()))
        metadata._tail(3, rows)
        cleared = cleared or sum(map(len, metadata._TAILS.values())) < before
        assert sum(map(len, metadata._TAILS.values())) <= metadata._TAILS_MAX
        assert all(len(b) <= metadata._BUCKET_MAX for b in metadata._TAILS.values())
    assert cleared
    again = [["x1", "指标", "C5"], ["[labels]"], ["指标", "A1", "名称"]]
    assert metadata._tail(3, again) == metadata._parse_tail(3, again)
    metadata._TAILS.clear()


# -- reference implementations -------------------------------------------------------------------


def _parse_metadata_reference(rows: list[list]) -> TemplateMap:
    """The straightforward version of ``parse_metadata``, which the cached one must agree with."""
    if len(rows) > MAX_MAP_ROWS:
        raise MetadataError("标识工作表的行数异常")
    rows = [[_text(v) for v in row] for row in rows]
    if not rows or not rows[0] or rows[0][0] != MAGIC:
        raise MetadataError("标识工作表的首行内容不对")
    head: dict[str, str] = {}
    cells: dict[str, str] = {}
    i = 1
    while i < len(rows) and rows[i] and rows[i][0] != FIELDS_MARK:
        if len(rows[i]) >= 2 and rows[i][0] in HEAD_KEYS:
            head[rows[i][0]] = rows[i][1]
            cells[rows[i][0]] = f"B{i + 1}"
        i += 1
    missing = [k for k in HEAD_KEYS if not head.get(k)]
    if missing:
        raise MetadataError(f"标识信息缺少：{'、'.join(missing)}")
    fields: list[Field] = []
    i += 1
    while i < len(rows) and (not rows[i] or rows[i][0] != LABELS_MARK):
        r = rows[i] + [""] * (11 - len(rows[i]))
        if r[0]:
            try:
                fields.append(Field(
                    key=r[0], sheet=r[1], cell=r[2], kind=r[3], required=r[4] == "1", label=r[5],
                    ref=r[6], unit=r[7], minimum=float(r[8]) if r[8] else None,
                    maximum=float(r[9]) if r[9] else None,
                    choices=tuple(c for c in r[10].split("|") if c),
                ))  # fmt: skip
            except ValueError:
                raise MetadataError(f"字段映射第 {i + 1} 行无法解析") from None
        i += 1
    labels = [LabelCell(*(r + ["", "", ""])[:3]) for r in rows[i + 1:] if r and r[0]]
    if _digest(head, fields, labels) != head["digest"]:
        raise MetadataError("字段映射与校验码不符（标识工作表被改动过）")
    for f in fields:
        _check_shape(f.key, f.sheet, f.cell, f.kind)
    for lb in labels:
        _check_shape("", lb.sheet, lb.cell)
    if len({f.key for f in fields}) != len(fields):
        raise MetadataError("字段映射中有重复的字段")
    return TemplateMap(
        plan_id=head["plan_id"], plan_version=head["plan_version"],
        template_version=head["template_version"], respondent_id=head["respondent_id"],
        respondent_name=head["respondent_name"], period_id=head["period_id"],
        generated_at=head["generated_at"], fields=tuple(fields), labels=tuple(labels), cells=cells,
    )  # fmt: skip


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(0, 1), st.sampled_from(_FAR_PIECES + _PIECES)),
                min_size=1, max_size=6))  # fmt: skip
def test_guard_with_and_without_fastscan_agree_on_edited_returns(demo_returns, tmp_path_factory, monkeypatch,
                                                                 edits):  # fmt: skip
    """Snippets (far cells, odd tags, tag soup) spliced into a real return's worksheets: the
    whole-file depth scan and the sheet bound clear exactly the files the exact per-part scans
    clear, with the same findings."""
    import zipfile

    import pdreport.intake.guard.fastscan  # noqa: F401 - loads numpy, which turns the fast path on
    from pdreport.intake import guard
    from pdreport.intake.guard import zipcheck

    src = sorted(Path(demo_returns[0]).glob("*.xlsx"))[0]
    with zipfile.ZipFile(src) as z:
        sheets = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        parts = {n: z.read(n) for n in sheets}
    for which, where, snippet in edits:
        name = sheets[which % len(sheets)]
        data = parts[name]
        cut = data.find(b"<sheetData>") + len(b"<sheetData>")
        at = cut + int(where * (len(data) - cut))
        at = data.rfind(b">", 0, at) + 1 or cut  # between tags
        parts[name] = data[:at] + snippet + data[at:]
    path = rezip(src, tmp_path_factory.mktemp("edit") / "x.xlsx", change=parts)
    assert zipcheck._fastscan() is not None
    fast = guard.guard_file(path)
    with monkeypatch.context() as m:  # (undone before the next example)
        m.setattr(zipcheck, "_fastscan", lambda: None)
        m.setattr(zipcheck, "_sheet_bound", lambda data, region=None: None)
        exact = guard.guard_file(path)
    assert (fast.kind, fast.findings, fast.dates_out_of_range) == (exact.kind, exact.findings, exact.dates_out_of_range)


def test_sheet_bound_reads_cells_where_calamine_does() -> None:
    """calamine reads cells only inside the first <sheetData> (a cell before it, after it or in a
    second one is never read: checked against calamine in the guard's design notes); the usual-case
    searches look from the first "sheetData" to the last, and to the end of the part when that
    last one is not closed."""
    from pdreport.intake.guard.xmlscan import _sheet_bound

    far = b'<row r="5000"><c r="XFD5000"><v>7</v></c></row>'
    sheet = (b'<worksheet><cols><col min="1"/></cols><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
             b"</sheetData>%s</worksheet>")  # fmt: skip
    assert _sheet_bound(sheet % b"") == (999, 26)
    assert _sheet_bound(sheet % far) == (999, 26)  # after the cells: not read
    assert _sheet_bound(far + sheet % b"") == (999, 26)  # before them: not read
    assert _sheet_bound(sheet.replace(b"</sheetData>", b"") % far) is None  # unclosed: to the end
    assert _sheet_bound(sheet % (b"<x:sheetData>" + far + b"</x:sheetData>")) is None  # a second one
    assert _sheet_bound(sheet % (b"<sheetData>" + far)) is None


def test_huge_negatives_count_where_calamine_reads_cells() -> None:
    """A number calamine cannot turn into a date matters in a cell (it would panic reading the
    sheet), not in a data validation rule after the cells, which it never reads as a value."""
    from pdreport.intake.guard.xmlscan import _cell_region, _huge_negative

    sheet = (b'<worksheet><sheetData><row r="1"><c r="A1" s="3"><v>%s</v></c></row></sheetData>'
             b"<dataValidations><dataValidation><formula1>%s</formula1></dataValidation></dataValidations>"
             b"</worksheet>")  # fmt: skip
    for cell, rule, huge in ((b"-1E+300", b"0", True), (b"1", b"-1E+300", False), (b"-5", b"-5", False)):
        part = sheet % (cell, rule)
        assert _huge_negative(part, *_cell_region(part)) is huge
        assert _huge_negative(part) is (huge or rule == b"-1E+300")  # (the whole part, as before)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([b"\xef\xbb\xbf", b" ", b"\n", b"\t", b'<?xml version="1.0"?>',
                                 b'<?xml encoding="UTF-16"?>', b"<?pi x?>", b"<!-- c -->", b"<x:", b"<",
                                 b"worksheet", b"sst", b">", b"?>", b"\x00", b"a b", b"-"]),  # fmt: skip
                max_size=8).map(b"".join))
def test_plain_prolog_finds_the_root_prolog_root_finds(head: bytes) -> None:
    """The lean pass reads the usual start of a part with one regex; wherever it matches, the root
    is the one the general prolog reader finds."""
    from pdreport.intake.guard.xmlscan import _PLAIN_PROLOG, _prolog_root

    m = _PLAIN_PROLOG.match(head)
    if m is not None:
        assert _prolog_root(head)[0] == m.group(1).decode("ascii")


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([b"<", b"!", b"<!", b" ", b"\n", b"DOCTYPE", b"doctype", b"EnTiTy", b"ENT",
                                 b"x", b"'s'!$C$13", b"<!--", b"\x00"]), max_size=90).map(b"".join))  # fmt: skip
def test_declares_doctype_is_the_regex(head: bytes) -> None:
    """The "!"-by-"!" look (and its fallback beyond ``_BANGS_MAX``) finds a DOCTYPE or ENTITY
    declaration exactly where the one regex search does."""
    from pdreport.intake.guard.xmlscan import _DANGER, _declares_doctype

    assert _declares_doctype(head) == (_DANGER.search(head) is not None)


def test_declares_doctype_beyond_many_bangs() -> None:
    from pdreport.intake.guard import xmlscan

    many = b"'s'!$A$1 " * (xmlscan._BANGS_MAX + 5)
    assert not xmlscan._declares_doctype(many)
    assert xmlscan._declares_doctype(many + b"<!DOCTYPE x>")
    assert xmlscan._declares_doctype(b"<!DOCTYPE x>" + many)
    assert xmlscan._declares_doctype(many[:40] + b"<! entity" + many)


def test_a_row_start_at_a_chunks_end_waits_for_what_follows_it() -> None:
    # (whether the row is empty, <row …></row>, and so places nothing, is in the next chunk)
    from pdreport.intake.guard.xmlscan import _ROW_REF, _Scan

    seen: list[bytes] = []
    scan = _Scan(seen.append)
    scan.feed(b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576" ht="12.8">')
    scan.feed(b"</row></sheetData>")
    scan.close()
    joined = b"".join(seen)
    assert joined.endswith(b'<row r="1048576" ht="12.8"></row></sheetData>')
    assert [end for _d, end in _ROW_REF.findall(b"".join(seen[1:]))] == [b"></row>"]
    # a self-closing row, or one with its cells in the same chunk, is scanned at once
    seen.clear()
    scan.feed(b'<row r="2"/>')
    assert seen == [b'<row r="2"/>']
