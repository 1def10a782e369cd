"""docs/plan-format.md must stay true to the loader and to the bundled plan file.

Fails when the loader accepts a field or an enum value the doc does not mention, when a YAML
example in the doc no longer parses, uses a key the loader rejects, or is no longer a real
excerpt of pudong-2024.yaml, and when the worked error example no longer matches what
``pdreport plan --check`` prints for the broken copy the doc describes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from pdreport.plan import Accumulation, Combine, Comparison, PlanError, RespondentKind
from pdreport.plan import load as load_module
from pdreport.plan.load import default_plan_path, parse_plan

DOC = Path(__file__).resolve().parents[1] / "docs" / "plan-format.md"
TOP_LEVEL = {"plan", "periods", "respondents", "groups", "headline", "sections", "annex"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.S | re.M)  # fmt: skip
EXAMPLE_MARK = "# 示例"  # first line of a YAML block that is made up, not copied from the plan file


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _code_blocks(doc: str, lang: str) -> list[str]:
    out = []
    for m in FENCE.finditer(doc):
        if m.group("lang") == lang:
            indent = m.group("indent")
            out.append("".join(line[len(indent):] if line.startswith(indent) else line
                               for line in m.group("body").splitlines(keepends=True)))  # fmt: skip
    return out


def _yaml_blocks(doc: str) -> list[str]:
    """YAML blocks that start with a top-level key (comment lines before it are allowed)."""
    out = []
    for body in _code_blocks(doc, "yaml"):
        first = next(
            (ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), ""
        )
        if re.match(r"[A-Za-z_]\w*:", first):
            out.append(body)
    return out


def _set_literal(node: ast.AST, local_sets: dict[str, set[str]]) -> set[str] | None:
    """The string set an argument stands for: a literal, a local name, ``a - b``, or self._X."""
    if isinstance(node, ast.Set):
        if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            return {e.value for e in node.elts}
        return None
    if isinstance(node, ast.Name):
        return local_sets.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return _set_literal(node.left, local_sets)
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        value = getattr(load_module._Builder, node.attr, None)
        return set(value) if isinstance(value, (set, frozenset)) else None
    return None


def accepted_keys() -> set[str]:
    """Every key any ``self.mapping(...)`` call in load.py allows, plus _INDICATOR_KEYS."""
    keys: set[str] = set(load_module._Builder._INDICATOR_KEYS)
    tree = ast.parse(Path(load_module.__file__).read_text(encoding="utf-8"))
    calls = 0
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local_sets: dict[str, set[str]] = {}
        for node in ast.walk(func):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):  # fmt: skip
                value = _set_literal(node.value, local_sets)
                if value is not None:
                    local_sets[node.targets[0].id] = value
        for node in ast.walk(func):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "mapping" and func.name != "mapping"):  # fmt: skip
                continue
            allowed = node.args[2] if len(node.args) > 2 else next(
                (k.value for k in node.keywords if k.arg == "allowed"), None)  # fmt: skip
            value = _set_literal(allowed, local_sets) if allowed is not None else None
            assert value is not None, (
                f"load.py line {node.lineno}: cannot read the allowed keys of this mapping() call; "
                "pass a set literal (or a local name bound to one) so the doc test can see it"
            )
            keys |= value
            calls += 1
    assert calls >= 15, f"found only {calls} mapping() calls in load.py; is the parser still right?"
    return keys


def test_collects_the_loader_keys():
    keys = accepted_keys()
    assert TOP_LEVEL <= keys
    assert {
        "elapsed",
        "members_kind",
        "same_as",
        "includes",
        "cross_check_tolerance",
        "reason",
    } <= keys


def test_every_accepted_field_is_documented(doc):
    missing = sorted(k for k in accepted_keys() if f"`{k}`" not in doc)
    assert not missing, f"docs/plan-format.md does not mention these fields as `name`: {missing}"


@pytest.mark.parametrize("enum_cls", [Comparison, Accumulation, Combine, RespondentKind])
def test_every_enum_value_is_documented(doc, enum_cls):
    missing = [e.value for e in enum_cls if f"`{e.value}`" not in doc]
    assert not missing, f"docs/plan-format.md does not explain {enum_cls.__name__} values {missing}"


def test_yaml_examples_parse_and_use_accepted_keys(doc):
    blocks = _yaml_blocks(doc)
    assert len(blocks) >= 10, "expected the doc's YAML examples; did the fences change?"
    allowed = accepted_keys()

    def keys_of(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys_of(v)
        elif isinstance(value, list):
            for item in value:
                yield from keys_of(item)

    for body in blocks:
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            pytest.fail(f"a YAML example in docs/plan-format.md does not parse: {exc}\n{body}")
        assert isinstance(data, dict), body
        assert set(data) <= TOP_LEVEL, (
            f"not a top-level key of the plan file: {set(data) - TOP_LEVEL}"
        )
        unknown = {k for k in keys_of(data) if k not in allowed}
        assert not unknown, f"YAML example uses keys the loader rejects: {unknown}\n{body}"


def test_yaml_examples_are_real_excerpts(doc):
    """Copied lines must still be in pudong-2024.yaml; a trailing '……' marks a shortened value."""
    plan_lines = default_plan_path().read_text(encoding="utf-8").splitlines()
    plan_set = set(plan_lines)
    for body in _yaml_blocks(doc):
        if body.lstrip().startswith(EXAMPLE_MARK):
            continue
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line).rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.endswith("……"):
                prefix = line[: -len("……")]
                assert any(pl.startswith(prefix) for pl in plan_lines), (
                    f"not in the plan file: {line}"
                )
            else:
                assert line in plan_set, f"not in the plan file (copy it again): {line}"


def _broken_copy_rows(doc: str) -> list[tuple[str, str | None]]:
    """The '原文 → 改为' table of the worked error example: (old, new or None for 删除该行)."""
    row = re.compile(r"^\|\s*\d+\s*\|\s*`([^`]+)`\s*\|\s*(?:`([^`]*)`|（删除该行）)\s*\|", re.M)
    return [(m.group(1), m.group(2)) for m in row.finditer(doc)]


def test_worked_error_example_is_real_output(doc):
    rows = _broken_copy_rows(doc)
    assert len(rows) >= 3, "the broken-copy table of the error example was not found"
    text = default_plan_path().read_text(encoding="utf-8")
    for old, new in rows:
        assert text.count(old) == 1, f"'{old}' should occur exactly once in pudong-2024.yaml"
        if new is None:
            lines = text.splitlines(keepends=True)
            text = "".join(ln for ln in lines if old not in ln)
        else:
            text = text.replace(old, new)
    source = "/tmp/broken.yaml"
    with pytest.raises(PlanError) as info:
        parse_plan(text, source=source)
    actual = str(info.value).splitlines()

    block = next((b for b in _code_blocks(doc, "text") if f"plan --check {source}" in b), None)
    assert block is not None, "the output block of the error example was not found"
    shown = [ln for ln in block.splitlines() if not ln.startswith("$") and ln.strip() != "2"]
    assert shown[0] == "错误：" + actual[0], (
        "the error example's first line (problem count) is stale"
    )

    # (line numbers included: the doc calls it real output, and a reader follows them)
    assert shown[1:] == actual[1:], (
        "docs/plan-format.md: the error output no longer matches; re-run "
        "`pdreport plan --check /tmp/broken.yaml` on the broken copy and paste the output"
    )


def test_next_year_example_is_real_output(doc):
    """The 下一年怎么做 excerpt: only id, version and year changed; its lines (line numbers too)
    are lines of the real output, in order."""
    source = "浦东新区2025年计划.yaml"
    text = default_plan_path().read_text(encoding="utf-8")
    for old, new in (("  id: pudong-2024\n", "  id: pudong-2025\n"), ("  version: '2024.1'\n", "  version: '2025.1'\n"),
                     ("  year: 2024\n", "  year: 2025\n")):  # fmt: skip
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    with pytest.raises(PlanError) as info:
        parse_plan(text, source=source)
    actual = str(info.value).splitlines()
    block = next((b for b in _code_blocks(doc, "text") if f"plan --check {source}" in b), None)
    assert block is not None, "the output block of the next-year example was not found"
    shown = [ln.strip() for ln in block.splitlines() if not ln.startswith("$") and ln.strip() != "……"]
    assert shown[0] == "错误：" + actual[0]
    rest = [ln.strip() for ln in actual[1:]]
    at = [rest.index(ln) for ln in shown[1:]]  # (ValueError: a shown line is not in the output)
    assert at == sorted(at) and len(at) >= 2, shown
