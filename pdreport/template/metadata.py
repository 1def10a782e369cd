"""The hidden ``_pdreport`` sheet: who the workbook is for, and where every input lives.

Written by ``workbook.py``; parsed by intake from plain cell values (any reader), so
positions are never guessed from labels. A digest over the map detects edits.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from itertools import chain

from .layout import META, TEMPLATE_VERSION, Field, LabelCell, Layout

MAGIC = "pdreport 模板标识（请勿修改本工作表）"
HEAD_KEYS = ("plan_id", "plan_version", "template_version", "respondent_id", "respondent_name",
             "period_id", "generated_at", "digest")  # fmt: skip
FIELDS_MARK, LABELS_MARK = "[fields]", "[labels]"


@dataclass(frozen=True)
class TemplateMap:
    plan_id: str
    plan_version: str
    template_version: str
    respondent_id: str
    respondent_name: str
    period_id: str
    generated_at: str
    fields: tuple[Field, ...]
    labels: tuple[LabelCell, ...]
    cells: dict[str, str] = field(default_factory=dict, compare=False)  # head key → A1 on the sheet


class MetadataError(ValueError):
    """The metadata sheet is missing or does not parse; the message is Chinese."""


# What a map written by ``metadata_rows`` can contain. The digest is not a secret (anyone can
# recompute it), so a forged map is checked for shape here: later stages index cells and split keys.
_KEY = re.compile(r"header\.(filler|phone|reviewer|date)|ind\.[A-Za-z0-9_-]{1,40}\.(value|note|done|date)"
                  r"|annex\.(energy_base|energy_current|output_base|output_current|note)"
                  r"|task\.[0-9]{1,4}\.(status|progress|problems|next)")
_CELL = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,4}")  # within A1:ZZZ99999 — templates use a few dozen rows
_KINDS = {"number", "text", "choice", "date"}
_SHEET_BAD = re.compile(r"[\x00-\x1f\[\]:*?/\\]")
MAX_MAP_ROWS = 5000


def _check_shape(key: str, sheet: str, cell: str, kind: str = "text") -> None:
    if not _KEY.fullmatch(key) and key != "":
        raise MetadataError(f"字段映射中的字段“{key[:40]}”无法识别")
    if not _CELL.fullmatch(cell):
        raise MetadataError(f"字段映射中的单元格“{cell[:20]}”无效")
    if not sheet or len(sheet) > 31 or _SHEET_BAD.search(sheet) or sheet.startswith("'"):
        raise MetadataError(f"字段映射中的工作表名“{sheet[:40]}”无效")
    if kind not in _KINDS:
        raise MetadataError(f"字段映射中的类型“{kind[:20]}”无法识别")


def _digest(head: dict[str, str], fields, labels) -> str:
    payload = json.dumps(
        [
            [head[k] for k in HEAD_KEYS if k not in ("digest", "generated_at")],
            [[f.key, f.sheet, f.cell, f.kind, f.required, f.label, f.ref] for f in fields],
            [[lb.sheet, lb.cell, lb.text] for lb in labels],
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def metadata_rows(layout: Layout, generated_at: str) -> list[list[str]]:
    head = {
        "plan_id": layout.plan.id,
        "plan_version": layout.plan.version,
        "template_version": TEMPLATE_VERSION,
        "respondent_id": layout.respondent.id,
        "respondent_name": layout.respondent.name,
        "period_id": layout.period.id,
        "generated_at": generated_at,
    }
    head["digest"] = _digest(head, layout.fields, layout.labels)
    rows: list[list[str]] = [[MAGIC]]
    rows += [[k, head[k]] for k in HEAD_KEYS]
    rows.append([FIELDS_MARK, "sheet", "cell", "kind", "required", "label", "ref", "unit", "min",
                 "max", "choices"])  # fmt: skip
    for f in layout.fields:
        rows.append([f.key, f.sheet, f.cell, f.kind, "1" if f.required else "0", f.label, f.ref,
                     f.unit,
                     "" if f.minimum is None else repr(f.minimum),
                     "" if f.maximum is None else repr(f.maximum), "|".join(f.choices)])  # fmt: skip
    rows.append([LABELS_MARK, "cell", "text"])
    rows += [[lb.sheet, lb.cell, lb.text] for lb in layout.labels]
    return rows


def write_metadata(wb, layout: Layout, generated_at: str) -> None:
    ws = wb.add_worksheet(META)
    for r, row in enumerate(metadata_rows(layout, generated_at)):
        for c, value in enumerate(row):
            ws.write_string(r, c, value)
    ws.protect("pdreport")
    ws.very_hidden()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class _Tail:
    """What the rows after the head say (the field map and labels), or why they cannot be used:
    the same for every return of one layout, so parsed once per process (``_TAILS``)."""

    fields: tuple[Field, ...] = ()
    labels: tuple[LabelCell, ...] = ()
    payload: str = ""  # the fields' and labels' part of the digest's JSON
    parse_error: str = ""  # raised before the digest is checked
    shape_error: str = ""  # raised after it


_TAILS: dict[tuple[int, int], list[tuple[list[list[str]], _Tail]]] = {}  # (start, rows) → [(rows, tail)]
_TAILS_MAX = 512  # tails remembered in all
_BUCKET_MAX = 8


def _parse_tail(i: int, rows: list[list[str]]) -> _Tail:
    """``rows`` are the text rows from index ``i`` (the row after the head) to the end."""
    fields: list[Field] = []
    j = 0
    while j < len(rows) and (not rows[j] or rows[j][0] != LABELS_MARK):
        r = rows[j] + [""] * (11 - len(rows[j]))
        if r[0]:
            try:
                fields.append(Field(
                    key=r[0], sheet=r[1], cell=r[2], kind=r[3], required=r[4] == "1", label=r[5],
                    ref=r[6], unit=r[7], minimum=float(r[8]) if r[8] else None,
                    maximum=float(r[9]) if r[9] else None,
                    choices=tuple(c for c in r[10].split("|") if c),
                ))  # fmt: skip
            except ValueError:
                return _Tail(parse_error=f"字段映射第 {i + j + 1} 行无法解析")
        j += 1
    labels = [LabelCell(*(r + ["", "", ""])[:3]) for r in rows[j + 1:] if r and r[0]]
    payload = (json.dumps([[f.key, f.sheet, f.cell, f.kind, f.required, f.label, f.ref] for f in fields],
                          ensure_ascii=False)
               + ", " + json.dumps([[lb.sheet, lb.cell, lb.text] for lb in labels], ensure_ascii=False))  # fmt: skip
    shape_error = ""
    try:
        for f in fields:
            _check_shape(f.key, f.sheet, f.cell, f.kind)
        for lb in labels:
            _check_shape("", lb.sheet, lb.cell)
        if len({f.key for f in fields}) != len(fields):
            raise MetadataError("字段映射中有重复的字段")
    except MetadataError as exc:
        shape_error = str(exc)
    return _Tail(tuple(fields), tuple(labels), payload, "", shape_error)


def _tail(i: int, raw: list[list]) -> _Tail:
    """The tail of the raw rows from index ``i``, parsed or remembered. Only all-text rows (what
    ``metadata_rows`` writes) are remembered: equal rows say exactly what ``_text`` makes of them.
    (Looked up by position and length, then compared whole: comparing lists costs a fraction of
    hashing every cell into a key.)"""
    bucket = _TAILS.get((i, len(raw)))
    if bucket:
        for seen, tail in bucket:
            if seen == raw:  # (seen holds only text: equal rows are text too)
                return tail
    if set(map(type, chain.from_iterable(raw))) <= {str}:
        tail = _parse_tail(i, [[v.strip() for v in row] for row in raw])
        if sum(map(len, _TAILS.values())) >= _TAILS_MAX:  # (each holds a copy of its rows)
            _TAILS.clear()
        bucket = _TAILS.setdefault((i, len(raw)), [])
        if len(bucket) >= _BUCKET_MAX:
            del bucket[0]
        bucket.append(([list(row) for row in raw], tail))
        return tail
    return _parse_tail(i, [[_text(v) for v in row] for row in raw])


def parse_metadata(rows: list[list]) -> TemplateMap:
    """Rows of cell values (as any reader returns them) → ``TemplateMap``; MetadataError if bad."""
    if len(rows) > MAX_MAP_ROWS:
        raise MetadataError("标识工作表的行数异常")
    first = [_text(v) for v in rows[0][:1]] if rows else []
    if not first or first[0] != MAGIC:
        raise MetadataError("标识工作表的首行内容不对")
    head: dict[str, str] = {}
    cells: dict[str, str] = {}
    i = 1
    while i < len(rows):
        row = [_text(v) for v in rows[i][:2]]  # (a key and its value: the rest of the row is unused)
        if not row or row[0] == FIELDS_MARK:
            break
        if len(row) >= 2 and row[0] in HEAD_KEYS:
            head[row[0]] = row[1]
            cells[row[0]] = f"B{i + 1}"
        i += 1
    missing = [k for k in HEAD_KEYS if not head.get(k)]
    if missing:
        raise MetadataError(f"标识信息缺少：{'、'.join(missing)}")
    i += 1
    tail = _tail(i, rows[i:])
    if tail.parse_error:
        raise MetadataError(tail.parse_error)
    head_part = json.dumps([head[k] for k in HEAD_KEYS if k not in ("digest", "generated_at")], ensure_ascii=False)
    digest = hashlib.sha256(f"[{head_part}, {tail.payload}]".encode()).hexdigest()[:16]
    if digest != head["digest"]:
        raise MetadataError("字段映射与校验码不符（标识工作表被改动过）")
    if tail.shape_error:
        raise MetadataError(tail.shape_error)
    return TemplateMap(
        plan_id=head["plan_id"], plan_version=head["plan_version"],
        template_version=head["template_version"], respondent_id=head["respondent_id"],
        respondent_name=head["respondent_name"], period_id=head["period_id"],
        generated_at=head["generated_at"], fields=tail.fields, labels=tail.labels, cells=cells,
    )  # fmt: skip
