"""Data flows one way: a module imports only from its own stage or the stages before it.

Every `import pdreport…` and `from .x import …` in pdreport/ (at any depth, inside functions and
`if TYPE_CHECKING:` blocks too) is resolved to the stage it reaches and compared with ORDER. The
order is data, here, and matches docs/architecture.md. A stage listed but not yet written is fine;
a module whose stage is not listed fails, so that a new module gets a place in the order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pdreport"

# earliest first; the names in one tuple are one stage (they may import each other)
ORDER: tuple[tuple[str, ...], ...] = (
    ("errors", "findings", "workers"),
    ("plan",),
    ("periods",),
    ("outputs", "template"),
    ("intake",),
    ("validate",),
    ("collect",),
    ("problems", "datatable", "feedback", "feedback_copy"),
    ("assess",),
    ("summary",),
    ("report",),
    ("consolidate",),  # not in the brief's order: the whole run (collect → … → report) in one call
    ("demo",),
    ("cli",),
)
RANK = {name: i for i, stage in enumerate(ORDER) for name in stage}
TOP = ""  # the package itself: `from pdreport import x` where x is not a module
# narrower than its rank: sample data is built from the plan and the templates only
ONLY = {"demo": {"demo", "template", "plan", "periods"}}
FREE = {"pdreport", "pdreport.__main__"}  # the top package may import anything


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    base = PACKAGE.parent / rel
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) for every pdreport import in the file."""
    name = module_name(path)
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "pdreport"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                up = node.level - 1
                assert up < len(parts), f"{path}:{node.lineno}: relative import beyond the package"
                base = ".".join(parts[: len(parts) - up])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] != "pdreport":
                continue
            for a in node.names:  # `from . import x` may name a module
                sub = f"{base}.{a.name}"
                out.append((node.lineno, sub if a.name != "*" and is_module(sub) else base))
    return out


def stage_of(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else TOP


def violations(path: Path, source: str | None = None) -> list[str]:
    name = module_name(path)
    if name in FREE:
        return []
    own = stage_of(name)
    if own not in RANK:
        return [f"{name}: stage “{own}” is not in ORDER (add it to the order in this test and to "
                f"docs/architecture.md)"]  # fmt: skip
    bad = []
    for line, target in sorted(set(imports(path, source))):
        to = stage_of(target)
        if to == own:
            continue
        if to == TOP:
            ok = own == "cli"
        elif to not in RANK:
            ok = False
        elif own in ONLY:
            ok = to in ONLY[own]
        else:
            ok = RANK[to] <= RANK[own]
        if not ok:
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} ({own}) imports {target} ({to or 'pdreport'})")
    return bad


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_imports_follow_the_stage_order():
    found = [v for path in modules() for v in violations(path)]
    assert found == [], "imports against the data flow:\n" + "\n".join(found)


def test_the_walk_sees_the_whole_package():
    names = {module_name(p) for p in modules()}
    assert {"pdreport.errors", "pdreport.template.workbook", "pdreport.intake.guard",
            "pdreport.collect", "pdreport.cli"} <= names  # fmt: skip
    stages = {stage_of(n) for n in names} - {TOP, "__main__"}
    assert stages <= set(RANK), stages - set(RANK)
    # the checker resolves real imports, including those inside functions
    got = {t for _, t in imports(PACKAGE / "template" / "layout.py")}
    assert "pdreport.periods" in got  # imported inside build_layout()
    assert "pdreport.plan.model" in got


@pytest.mark.parametrize(
    ("where", "source", "ok"),
    [
        ("template/x.py", "from ..cli import main", False),
        ("template/x.py", "def f():\n    from ..collect import collect", False),
        ("template/x.py", "import pdreport.intake.read", False),
        ("template/x.py", "from pdreport import collect", False),
        ("template/x.py", "from pdreport import load_plan", False),  # via the top package
        ("template/x.py", "from .. import periods, errors", True),
        ("template/x.py", "from .layout import Field\nfrom ..outputs import x", True),
        ("intake/x.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..validate import y", False),
        ("findings.py", "from .plan import load_plan", False),
        ("collect.py", "from .validate import v\nfrom .intake.guard import g", True),
        ("demo.py", "from .template import render_workbook\nfrom .periods import p", True),
        ("demo.py", "from .findings import Code", False),  # demo: template/plan/periods only
        ("cli.py", "from . import __version__\nfrom .report import r", True),
        ("__init__.py", "from .cli import main", True),
    ],
)  # fmt: skip
def test_the_checker_catches_wrong_imports(where, source, ok):
    found = violations(PACKAGE / where, source)
    assert (found == []) is ok, found
