"""docs/findings.md explains every finding code, with the title and level the code really has."""

from __future__ import annotations

import re
from pathlib import Path

from pdreport.findings import Code

DOC = Path(__file__).resolve().parents[1] / "docs" / "findings.md"
CJK = re.compile(r"[\u4e00-\u9fff]")


def rows() -> dict[str, list[str]]:
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"[EW]\d{3}", cells[0]):
            assert cells[0] not in out, f"{cells[0]} is listed twice"
            out[cells[0]] = cells
    return out


def test_every_code_is_documented():
    documented = rows()
    missing = [c.code for c in Code if c.code not in documented]
    assert missing == [], f"add these codes to docs/findings.md: {missing}"
    unknown = set(documented) - {c.code for c in Code}
    assert not unknown, f"docs/findings.md lists codes that do not exist: {sorted(unknown)}"


def test_each_row_has_title_level_when_and_what_to_do():
    documented = rows()
    for c in Code:
        code, title, level, when, todo = documented[c.code]
        assert title == c.title, c.code
        assert level == c.severity.label, c.code
        assert len(CJK.findall(when)) >= 10 and len(CJK.findall(todo)) >= 4, c.code
