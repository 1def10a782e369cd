"""YAML plan file → ``Plan``, with every problem located by YAML path and line.

A coordinator editing next year's file must get a list of plain messages, never a
traceback: all checks run and are collected before ``PlanError`` is raised.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import PdreportError, os_error_text
from .model import (
    DEFAULT_COUNT_UNITS,
    Accumulation,
    Alias,
    Annex,
    AnnexUnit,
    Combine,
    Comparison,
    Contact,
    ContextNumber,
    CrossCheck,
    Footnote,
    Group,
    HeadlineTarget,
    Indicator,
    Period,
    Plan,
    Respondent,
    RespondentKind,
    Section,
    Task,
)

DEFAULT_PLAN = "pudong-2024"
_YEAR = re.compile(r"(?<![0-9])(?:19|20|21)[0-9]{2}(?![0-9])")  # a year written in a period's id or label
_DIGITS = "一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 11 → 十一, 20 → 二十, 99 → 九十九 (section numbers as notices write them)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else _DIGITS[tens - 1] + "十"
    return head + (_DIGITS[ones - 1] if ones else "")

try:  # the C loader is ~10x faster; fall back quietly where libyaml is missing
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class _PlanLoader(_Loader):  # type: ignore[misc,valid-type]
    """The safe loader, except that a scalar it cannot construct (an unquoted 2024-02-30,
    ``!!int x``) is kept as the text written, for the checks to name with its path and line,
    instead of stopping the load with a Python exception."""


def _kept_as_written(construct):
    def construct_or_text(loader, node):
        try:
            return construct(loader, node)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
            return node.value

    return construct_or_text


# the scalars whose constructors can raise on what was written (2024-02-30, !!int x, !!bool x)
_FALLIBLE = tuple(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "timestamp"))
for _tag in _FALLIBLE:
    _PlanLoader.add_constructor(_tag, _kept_as_written(_Loader.yaml_constructors[_tag]))


@dataclass(frozen=True)
class PlanProblem:
    path: str  # e.g. "sections[1].tasks[0].departments[2]"
    line: int | None  # 1-based line in the YAML file
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}  {self.path}：{self.message}" if self.path else f"{where}  {self.message}"


class PlanError(PdreportError):
    def __init__(self, source: str, problems: list[PlanProblem]):
        self.source = source
        self.problems = problems
        lines = [f"计划文件有 {len(problems)} 处问题，请修改后重试："]
        lines += ["  " + p.render(source) for p in problems]
        super().__init__("\n".join(lines))


def default_plan_path(name: str = DEFAULT_PLAN) -> Path:
    return Path(str(resources.files("pdreport.plan") / "data" / f"{name}.yaml"))


_CACHE: dict[tuple[str, float], Plan] = {}


def load_plan(path: str | Path | None = None) -> Plan:
    """Load and validate a plan file (the bundled 2024 plan when ``path`` is None)."""
    p = Path(path) if path is not None else default_plan_path()
    try:
        key = (str(p.resolve()), p.stat().st_mtime)
    except OSError:
        raise PlanError(str(p), [PlanProblem("", None, "找不到计划文件或无法读取")]) from None
    if key not in _CACHE:
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise PlanError(str(p), [PlanProblem("", None, f"无法读取计划文件：{os_error_text(exc)}")]) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PlanError(str(p), [PlanProblem("", None, _not_utf8(data))]) from None
        _CACHE[key] = parse_plan(text, source=str(p))
    return _CACHE[key]


# how files often picked by mistake begin: Office (zip, or the older compound file), PDF, images
_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _not_utf8(data: bytes) -> str:
    """Why bytes that are not UTF-8 are no plan: another kind of file, or a plan saved in another
    encoding (GBK/ANSI, or UTF-16 as Notepad's “Unicode”)."""
    head = data[:4096]
    if not head.startswith(_UTF16_32_BOMS) and (head.startswith(_BINARY_MAGIC) or b"\x00" in head):
        return "计划文件不是文本文件（可能选错了文件，如 Word、Excel 或图片；计划文件应为 .yaml）"
    return ("计划文件不是 UTF-8 编码的文本（可能选错了文件，计划文件应为 .yaml；"
            "如确是计划文件，请在记事本等编辑器中“另存为”，编码选 UTF-8）")


# PyYAML's commonest complaints, in the words of someone editing the plan by hand
_YAML_WORDS = (
    ("tab character", "用了 Tab 键缩进，请改用空格"),
    ("cannot start any token", "有不能出现在此处的字符，含特殊字符的文字请加引号"),
    ("mapping values are not allowed", "冒号位置不对：同一行有两个“键: 值”，或文字中的冒号未加引号"),
    ("could not find expected ':'", "缺少冒号，或上一行的缩进不对"),
    ("expected <block end>", "缩进不一致，请检查本行与上一行的对齐"),
    ("expected '-' indicator", "列表中混入了不以“- ”开头的行，或缩进不一致"),
    ("end of stream", "文件在引号或括号未闭合时结束，请检查引号和括号是否成对"),
    ("expected ',' or", "方括号或花括号中的列表未正确闭合或缺少逗号"),
    ("undefined alias", "引用了未定义的别名（*名称）"),
    ("could not determine a constructor", "用了不支持的标记（以“!”开头），请删除该标记"),
    ("expected a mapping", "标记（以“!”开头）或合并键（<<）与内容不符，请删除"),
    ("found unhashable key", "键只能是文字，不能是列表或映射"),
    ("but found another document", "文件中有多份内容（以“---”分隔），计划文件只能有一份"),
    ("exceeded maximum nesting depth", "嵌套层数过多"),
)


def _char_at(text: str, mark) -> str:
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines):
        return ""
    return lines[mark.line][mark.column:mark.column + 1]


# full-width spaces (a Chinese input method's) as the indent of a key or list item; a paragraph of
# text indented so (一段话开头空两格) is no key
_FULL_WIDTH_INDENT = re.compile(r"""^[ \t\u3000]*\u3000[ \t\u3000]*(?:-[ \t\u3000]+)?[^\s:#'"][^:：]*:(?:\s|$)""")
# a value that opens a quote its line does not close (the plan writes no multi-line quoted text)
_OPEN_QUOTE = re.compile(r"""^\s*(?:-\s+)?[^\s#'"][^:#]*:\s+(['"])(?:(?!\1).)*$""")
_CAUSE_REACH = 10  # lines before PyYAML's position looked at, when it gives no start of its context


def _likely_cause(text: str, line: int | None, context: int | None = None) -> tuple[int, str] | None:
    """(line, words) of what most likely broke the YAML, when PyYAML's own position ``line`` is a
    line or more after it: an indent typed with full-width spaces just before it, or a quote not
    closed on its line since the start of the mapping PyYAML was reading (``context``). None when
    neither is found there."""
    if line is None:
        return None
    lines = text.splitlines()
    for n in range(max(1, line - 2), min(line, len(lines)) + 1):
        if _FULL_WIDTH_INDENT.match(lines[n - 1]):
            return n, "行首用了全角空格（中文输入法下的空格），请改用半角空格缩进"
    first = context if context is not None and context <= line else max(1, line - _CAUSE_REACH)
    for n in range(min(line, len(lines)), first - 1, -1):
        m = _OPEN_QUOTE.match(lines[n - 1])
        if m:
            return n, f"引号没有配对：以 {m.group(1)} 开头的文字在本行没有以 {m.group(1)} 结束，请补上或删去引号"
    return None


def _yaml_in_words(problem: str) -> str:
    return next((words for needle, words in _YAML_WORDS if needle in problem), "格式不符合 YAML 规则")


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_PlanLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        words = f"含有不允许出现的控制字符（U+{exc.character:04X}）；可能选错了文件，计划文件应为 .yaml 文本"
        raise PlanError(source, [PlanProblem("", line, f"YAML 格式错误（{words}）")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        detail = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context_mark", None)
        cause = _likely_cause(text, line, context.line + 1 if context else None)
        if cause is not None:  # (PyYAML notices these a line or more later, in its own terms)
            raise PlanError(source, [PlanProblem("", cause[0], f"YAML 格式错误（{cause[1]}；原文：{detail}）")]) from None
        where = f"第 {mark.column + 1} 列，" if mark else ""
        words = "用了 Tab 键，请改用空格缩进" if _char_at(text, mark) == "\t" else _yaml_in_words(detail)
        raise PlanError(source, [PlanProblem("", line, f"YAML 格式错误（{where}{words}；原文：{detail}）")]) from None
    lines: dict[str, int] = {}
    repeated: list[PlanProblem] = []
    if node is not None:
        _index_lines(node, "", lines, repeated)
    builder = _Builder(lines)
    plan = builder.build(data)
    if repeated or builder.problems or plan is None:
        raise PlanError(source, repeated + builder.problems)
    return plan


def _index_lines(node: yaml.Node, path: str, out: dict[str, int], repeated: list[PlanProblem] | None = None) -> None:
    """Every YAML path → its line. Iterative, and each node's contents indexed once: an alias may
    refer to a node that contains it (``a: &x [*x]``), and nesting may be deep. (Paths under an
    alias's use are not indexed: a problem there is located at the alias.) ``repeated`` receives
    a problem for each key written twice in one mapping: YAML keeps the last value without a
    word (a second ``target:`` line would silently change the target)."""
    todo = [(node, path)]
    seen: set[int] = set()
    while todo:
        node, path = todo.pop()
        out.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        children = []
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in first and repeated is not None:
                        repeated.append(PlanProblem(sub, line, f"“{key.value}”写了两次（第 {first[key.value]} 行已有）；"
                                                               "只会采用后写的一个，请删除多余的一行"))  # fmt: skip
                    first.setdefault(key.value, line)
                out[sub] = line
                children.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        todo.extend(reversed(children))  # depth first, in file order, as written


def _not_a_plan(data: Any) -> str:
    if data is None:
        return "计划文件中没有内容（可能选错了文件，计划文件应为 .yaml）"
    shape = "一个列表（各行以“- ”开头）" if isinstance(data, list) else "一段文字"
    return (f"计划文件的内容应为“键: 值”的形式（plan:、periods:、respondents: 等各项），现在是{shape}；"
            "可能选错了文件，计划文件应为 .yaml")


class _Builder:
    """Walks the plain YAML data, collecting problems instead of stopping at the first."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.problems: list[PlanProblem] = []
        self.names: dict[str, tuple[str, ...]] = {}  # name or alias -> respondent ids
        self.indicator_ids: set[str] = set()
        self.alias_paths: dict[str, str] = {}
        self.indicator_paths: dict[str, str] = {}  # indicator id → where it is written
        self.count_units: tuple[str, ...] = DEFAULT_COUNT_UNITS  # plan.count_units, read with plan

    # -- problem reporting ------------------------------------------------------
    def problem(self, path: str, message: str) -> None:
        # a missing key has no line of its own: use the nearest enclosing node's
        probe = path
        while probe not in self.lines and probe:
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        self.problems.append(PlanProblem(path, self.lines.get(probe), message))

    # -- typed field access -------------------------------------------------------
    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str]) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, "应为键值对（映射）")
            return None
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                tip = f"，是否应为“{hint[0]}”？" if hint else ""
                self.problem(f"{path}.{key}" if path else str(key), f"未知字段“{key}”{tip}")
        for key in sorted(required):
            if value.get(key) in (None, ""):
                self.problem(path, f"缺少必填字段“{key}”")
        return value

    def text(self, d: dict, key: str, path: str, required: bool = True) -> str:
        value = d.get(key)
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(f"{path}.{key}", "应为文字")
            return ""
        return str(value).strip()

    def number(self, d: dict, key: str, path: str) -> float | None:
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(f"{path}.{key}", f"应为数字，实际为“{value}”")
            return None
        return float(value)

    def date(self, d: dict, key: str, path: str) -> dt.date | None:
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                self.problem(f"{path}.{key}", f"日期“{value}”不存在（该月没有这一天）")
            else:
                self.problem(f"{path}.{key}", f"日期应写成 YYYY-MM-DD，实际为“{value}”")
            return None

    def enum(self, enum_cls, d: dict, key: str, path: str, default=None):
        value = d.get(key)
        if value is None:
            return default
        try:
            return enum_cls(value)
        except ValueError:
            allowed = " / ".join(e.value for e in enum_cls)
            self.problem(f"{path}.{key}", f"取值“{value}”无效，可选：{allowed}")
            return default

    def strings(self, d: dict, key: str, path: str) -> list[tuple[str, str]]:
        value = d.get(key) or []
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", "应为列表")
            return []
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.problem(f"{path}.{key}[{i}]", "应为非空文字")
                continue
            out.append((item.strip(), f"{path}.{key}[{i}]"))
        return out

    def resolve(self, name: str, path: str, single: bool = False) -> tuple[str, ...]:
        """``single``: where one unit is meant (a lead, an annex row), only units are suggested."""
        ids = self.names.get(name)
        if ids is None:
            pool = sorted(n for n, i in self.names.items() if len(i) == 1 or not single)
            hint = difflib.get_close_matches(name, pool, n=1, cutoff=0.5)
            tip = f"，是否应为“{hint[0]}”？" if hint else "；请先在 respondents 或 groups 中登记"
            self.problem(path, f"未知的部门或单位“{name}”{tip}")
            return ()
        return ids

    def resolve_all(self, items: list[tuple[str, str]]) -> tuple[str, ...]:
        out: list[str] = []
        for name, path in items:
            for rid in self.resolve(name, path):
                if rid not in out:
                    out.append(rid)
        return tuple(out)

    # -- the plan ------------------------------------------------------------------
    def build(self, data: Any) -> Plan | None:
        if not isinstance(data, dict):  # an empty file, a list, some text: not a plan at all
            self.problem("", _not_a_plan(data))
            return None
        top = self.mapping(
            data,
            "",
            {"plan", "periods", "respondents", "groups", "headline", "sections", "annex"},
            {"plan", "periods", "respondents", "headline", "sections", "annex"},
        )
        if top is None:
            return None
        respondents = self.respondents(top.get("respondents"), "respondents")
        groups = self.groups(top.get("groups") or [], "groups", respondents)
        meta = self.meta(top.get("plan"), "plan")
        periods = self.periods(top.get("periods"), "periods", meta["year"] if meta else 0)
        indicators: list[Indicator] = []
        aliases: list[Alias] = []
        headline_title, headline = self.headline(top.get("headline"), "headline", indicators)
        sections, tasks = self.sections(top.get("sections"), "sections", indicators, aliases)
        annex = self.annex(top.get("annex"), "annex")
        if meta is None or annex is None:
            return None
        self.cross_checks(respondents, indicators, aliases, tasks, headline, annex)
        self.task_indicator_checks(tasks, indicators, meta["year"])
        if self.problems:
            return None
        coordinator = self.resolve(meta["coordinator"], "plan.coordinator")
        return Plan(
            **{k: v for k, v in meta.items() if k != "coordinator"},
            coordinator=coordinator[0] if coordinator else "",
            periods=tuple(periods),
            respondents=tuple(respondents),
            groups=tuple(groups),
            headline_title=headline_title,
            headline=tuple(headline),
            sections=tuple(sections),
            tasks=tuple(tasks),
            indicators=tuple(indicators),
            aliases=tuple(aliases),
            annex=annex,
        )

    def meta(self, value: Any, path: str) -> dict | None:
        keys = {
            "id", "version", "year", "title", "notice_title", "recipients", "issuer",
            "issuer_seal", "date", "printed_by", "coordinator", "contact", "overview", "footnotes",
            "count_units",
        }  # fmt: skip
        d = self.mapping(value, path, keys, {"id", "version", "year", "title", "date", "coordinator"})
        if d is None:
            return None
        contact = self.mapping(d.get("contact") or {}, f"{path}.contact",
                               {"office", "person", "phone", "email"}, set())  # fmt: skip
        overview = self.mapping(d.get("overview") or {}, f"{path}.overview",
                                {"considerations", "goal"}, set())  # fmt: skip
        footnotes = []
        for i, f in enumerate(d.get("footnotes") or []):
            fp = f"{path}.footnotes[{i}]"
            f = self.mapping(f, fp, {"id", "ref", "text", "items"}, {"id", "text"})
            if f is not None:
                items = tuple(s for s, _ in self.strings(f, "items", fp))
                footnotes.append(Footnote(self.text(f, "id", fp), self.text(f, "ref", fp),
                                          self.text(f, "text", fp), items))  # fmt: skip
        year = d.get("year")
        if not isinstance(year, int) or isinstance(year, bool):
            self.problem(f"{path}.year", "年度应为整数，如 2024")
            year = 0
        self.count_units = self.unit_list(d, "count_units", path)
        return dict(
            id=self.text(d, "id", path),
            version=self.version(d, path),
            year=year,
            title=self.text(d, "title", path),
            notice_title=self.text(d, "notice_title", path),
            recipients=self.text(d, "recipients", path),
            issuer=self.text(d, "issuer", path),
            issuer_seal=self.text(d, "issuer_seal", path),
            date=self.date(d, "date", path) or dt.date(year or 2000, 1, 1),
            printed_by=self.text(d, "printed_by", path),
            coordinator=self.text(d, "coordinator", path),
            contact=Contact(**{k: str(v or "") for k, v in (contact or {}).items()})
            if contact and contact.get("office")
            else Contact(office=self.text(d, "issuer", path)),
            considerations=str((overview or {}).get("considerations") or ""),
            goal=str((overview or {}).get("goal") or ""),
            footnotes=tuple(footnotes),
            count_units=self.count_units,
        )

    def unit_list(self, d: dict, key: str, path: str) -> tuple[str, ...]:
        """``count_units``: the units whose figures are whole numbers; the default list when the
        key is left out, none when it is written as an empty list."""
        if key not in d:
            return DEFAULT_COUNT_UNITS
        if d[key] is None:
            self.problem(f"{path}.{key}", "应为列表，如 [个, 辆, 场]；不需要时写空列表 []，或删除这一行用默认列表")
            return DEFAULT_COUNT_UNITS
        out: list[str] = []
        for unit, up in self.strings(d, key, path):
            if unit in out:
                self.problem(up, f"计量单位“{unit}”重复")
            elif unit == "%":
                self.problem(up, "“%”不是整数单位（百分数可以有小数）")
            else:
                out.append(unit)
        return tuple(out)

    def version(self, d: dict, path: str) -> str:
        if isinstance(d.get("version"), float):  # 2024.10 would silently read as 2024.1
            self.problem(f"{path}.version", "版本号请加引号写成文字，如 '2024.1'")
        return self.text(d, "version", path)

    def periods(self, value: Any, path: str, year: int) -> list[Period]:
        """``year``: the plan's (0 when it is wrong): each period lies in it, and a year its id or
        label names is it (2024H1 / 2024年上半年 left in a 2025 file would name every form 2024)."""
        out: list[Period] = []
        if not isinstance(value, list) or not value:
            self.problem(path, "至少需要一个报送期")
            return out
        seen: set[str] = set()
        for i, p in enumerate(value):
            pp = f"{path}[{i}]"
            keys = {"id", "label", "start", "end", "deadline", "elapsed"}
            p = self.mapping(p, pp, keys, keys)
            if p is None:
                continue
            pid = self.text(p, "id", pp)
            if pid in seen:
                self.problem(f"{pp}.id", f"报送期编号“{pid}”重复")
            seen.add(pid)
            start, end = self.date(p, "start", pp), self.date(p, "end", pp)
            deadline, elapsed = self.date(p, "deadline", pp), self.number(p, "elapsed", pp)
            if elapsed is not None and not 0 < elapsed <= 1:
                self.problem(f"{pp}.elapsed", "序时进度应在 0 到 1 之间（如上半年 0.5）")
            if start and end and start > end:
                self.problem(f"{pp}.end", "结束日期早于开始日期")
            if end and deadline and deadline < end:
                self.problem(f"{pp}.deadline", "报送截止日期早于报送期结束日期")
            label = self.text(p, "label", pp)
            if year:
                if start and start.year != year:
                    self.problem(f"{pp}.start", f"报送期“{pid}”不在计划年度 {year} 内")
                for key, what, written in (("id", "编号", pid), ("label", "名称", label)):
                    named = sorted({int(y) for y in _YEAR.findall(written)} - {year})
                    if named:
                        self.problem(f"{pp}.{key}", f"报送期{what}“{written}”中的年份 {named[0]} 不是计划年度 {year}"
                                     "（可能是沿用了上一年的计划文件）")  # fmt: skip
            if None not in (start, end, deadline, elapsed):
                out.append(Period(pid, label, start, end, deadline, elapsed))
        return out

    def respondents(self, value: Any, path: str) -> list[Respondent]:
        out: list[Respondent] = []
        if not isinstance(value, list) or not value:
            self.problem(path, "至少需要一个填报单位")
            return out
        ids: set[str] = set()
        for i, r in enumerate(value):
            rp = f"{path}[{i}]"
            r = self.mapping(r, rp, {"id", "name", "kind", "full_name", "aliases"}, {"id", "name", "kind"})
            if r is None:
                continue
            rid, name = self.text(r, "id", rp), self.text(r, "name", rp)
            kind = self.enum(RespondentKind, r, "kind", rp)
            if rid and not rid.replace("_", "").isascii():
                self.problem(f"{rp}.id", "编号只能用英文字母、数字和下划线（用于文件内部标识）")
            if rid in ids:
                self.problem(f"{rp}.id", f"填报单位编号“{rid}”重复")
            ids.add(rid)
            aliases = tuple(a for a, _ in self.strings(r, "aliases", rp))
            for n in (name, *aliases):
                if n in self.names:
                    self.problem(f"{rp}.name", f"名称“{n}”与其他单位重复")
                self.names[n] = (rid,)
            if kind is not None:
                out.append(Respondent(rid, name, kind, self.text(r, "full_name", rp), aliases))
        return out

    def groups(self, value: Any, path: str, respondents: list[Respondent]) -> list[Group]:
        out: list[Group] = []
        if not isinstance(value, list):
            self.problem(path, "应为列表")
            return out
        for i, g in enumerate(value):
            gp = f"{path}[{i}]"
            keys = {"id", "name", "aliases", "members", "members_kind", "note"}
            g = self.mapping(g, gp, keys, {"id", "name"})
            if g is None:
                continue
            members = list(self.resolve_all(self.strings(g, "members", gp)))
            for kind, kp in self.strings(g, "members_kind", gp):
                try:
                    k = RespondentKind(kind)
                except ValueError:
                    self.problem(kp, f"单位类别“{kind}”无效，可选：bureau / authority / town / street")
                    continue
                members += [r.id for r in respondents if r.kind is k and r.id not in members]
            if not members:
                self.problem(gp, "该组没有任何成员（members 或 members_kind）")
            name = self.text(g, "name", gp)
            aliases = tuple(a for a, _ in self.strings(g, "aliases", gp))
            for n in (name, *aliases):
                if n in self.names:
                    self.problem(f"{gp}.name", f"名称“{n}”与其他单位或组重复")
                self.names[n] = tuple(members)
            out.append(Group(self.text(g, "id", gp), name, tuple(members), aliases,
                             self.text(g, "note", gp)))  # fmt: skip
        return out

    _INDICATOR_KEYS = {
        "id", "name", "quote", "target", "unit", "comparison", "accumulation", "lead",
        "contributors", "reporters", "combine", "tolerance", "cross_check", "cross_check_tolerance",
        "deadline", "note", "same_as",
    }  # fmt: skip

    def indicator(self, d: Any, path: str, owner: str, milestone: bool, id_path: str = "") -> Indicator | None:
        required = {"id", "name", "lead"} if milestone else {"id", "name", "target", "unit"}
        d = self.mapping(d, path, self._INDICATOR_KEYS, required)
        if d is None:
            return None
        iid = self.text(d, "id", path)
        self.unique_indicator_id(iid, id_path or f"{path}.id")
        self.indicator_paths.setdefault(iid, path)
        default_cmp = Comparison.DONE if milestone else Comparison.AT_LEAST
        default_acc = Accumulation.MILESTONE if milestone else Accumulation.CUMULATIVE
        comparison = self.enum(Comparison, d, "comparison", path, default_cmp)
        accumulation = self.enum(Accumulation, d, "accumulation", path, default_acc)
        combine = self.enum(Combine, d, "combine", path, Combine.LEAD)
        target = self.number(d, "target", path)
        tolerance = self.number(d, "tolerance", path)
        if milestone != (accumulation is Accumulation.MILESTONE):
            self.problem(f"{path}.accumulation", "里程碑写在 milestones 下，数值指标写在 indicators 下")
        if comparison is Comparison.AROUND and tolerance is None:
            self.problem(path, "“左右”类指标需写明允许偏差 tolerance")
        if comparison is Comparison.DONE and not milestone:
            self.problem(f"{path}.comparison", "done 只用于里程碑")
        lead_name = self.text(d, "lead", path)
        lead_ids = self.resolve(lead_name, f"{path}.lead", single=True) if lead_name else ()
        if len(lead_ids) > 1:
            self.problem(f"{path}.lead", "牵头单位应为单个单位，不能是一组单位")
        contributors = self.resolve_all(self.strings(d, "contributors", path))
        listed = self.resolve_all(self.strings(d, "reporters", path))
        lead = lead_ids[0] if len(lead_ids) == 1 else None
        if combine is Combine.LEAD and lead is None and "lead" not in d:
            self.problem(path, "combine 为 lead 时须写明牵头单位 lead")
        reporters = tuple(dict.fromkeys(((lead,) if lead else ()) + listed + contributors))
        if not reporters:
            self.problem(path, "没有任何单位填报该指标（lead / reporters / contributors）")
        if "cross_check" in d and not contributors:
            self.problem(f"{path}.cross_check", "cross_check 说的是 contributors 的数怎样核对，没有 contributors 时不要写")
        return Indicator(
            id=iid,
            owner=owner,
            name=self.text(d, "name", path),
            quote=self.text(d, "quote", path),
            target=target,
            unit=self.text(d, "unit", path),
            comparison=comparison,
            accumulation=accumulation,
            lead=lead,
            contributors=tuple(c for c in contributors if c != lead),
            reporters=reporters,
            combine=combine,
            tolerance=tolerance,
            cross_check=self.enum(CrossCheck, d, "cross_check", path, CrossCheck.PARTS),
            cross_check_tolerance=_default(self.number(d, "cross_check_tolerance", path), 0.05),
            deadline=self.date(d, "deadline", path),
            note=self.text(d, "note", path),
            _count_units=frozenset(self.count_units),
        )

    def headline(self, value: Any, path: str, indicators: list[Indicator]):
        d = self.mapping(value, path, {"title", "rows"}, {"rows"})
        rows: list[HeadlineTarget] = []
        if d is None:
            return "", rows
        if not isinstance(d.get("rows"), list) or not d.get("rows"):  # (an empty 表1 otherwise)
            self.problem(f"{path}.rows", "至少需要一项总体目标（rows）")
        for i, r in enumerate(d.get("rows") or []):
            rp = f"{path}.rows[{i}]"
            keys = {"id", "field", "label", "target_text", "departments_text", "departments", "indicator"}
            r = self.mapping(r, rp, keys, keys - {"label"})
            if r is None:
                continue
            hid = self.text(r, "id", rp)
            ind = self.indicator(dict(r.get("indicator") or {}, id=hid), f"{rp}.indicator", hid, False, f"{rp}.id")
            if ind is None:
                continue
            indicators.append(ind)
            departments = self.strings(r, "departments", rp)
            rows.append(HeadlineTarget(
                id=hid,
                field=self.text(r, "field", rp),
                label=self.text(r, "label", rp) or self.text(r, "field", rp),
                target_text=self.text(r, "target_text", rp),
                departments_text=self.text(r, "departments_text", rp),
                departments=tuple(n for n, _ in departments),
                respondents=self.resolve_all(departments),
                indicator=hid,
            ))  # fmt: skip
        return self.text(d, "title", path), rows

    def sections(self, value: Any, path: str, indicators: list[Indicator], aliases: list[Alias]):
        sections: list[Section] = []
        tasks: list[Task] = []
        paths: list[str] = []  # each task's number, where it is in the file
        if not isinstance(value, list) or not value:
            self.problem(path, "至少需要一个工作板块（sections）")
            return sections, tasks
        for i, s in enumerate(value):
            sp = f"{path}[{i}]"
            s = self.mapping(s, sp, {"number", "title", "tasks"}, {"number", "title", "tasks"})
            if s is None:
                continue
            number = self.text(s, "number", sp)
            if number != chinese_numeral(i + 1):
                self.problem(f"{sp}.number", f"这是第 {i + 1} 个板块，序号应为“{chinese_numeral(i + 1)}”"
                             f"，实际为“{number}”（板块按一、二、三……十、十一……顺序编号）")  # fmt: skip
            numbers = []
            for j, t in enumerate(s.get("tasks") or []):
                task = self.task(t, f"{sp}.tasks[{j}]", number, indicators, aliases)
                if task is not None:
                    tasks.append(task)
                    numbers.append(task.number)
                    paths.append(f"{sp}.tasks[{j}].number")
            sections.append(Section(number, i + 1, self.text(s, "title", sp), tuple(numbers)))
        for k, task in enumerate(tasks, 1):
            if task.number != k:  # the first one out of line is enough to find the slip
                self.problem(paths[k - 1], f"这是全文第 {k} 项任务（“{task.title[:20]}”），编号应为 {k}，"
                             f"实际为 {task.number}（任务编号从 1 开始连续、按顺序排列，跨板块连续）")  # fmt: skip
                break
        return sections, tasks

    def task(self, t: Any, path: str, section: str, indicators: list[Indicator], aliases: list[Alias]):
        keys = {"number", "title", "text", "departments_text", "departments", "indicators",
                "milestones", "context"}  # fmt: skip
        t = self.mapping(t, path, keys, {"number", "title", "text", "departments"})
        if t is None:
            return None
        number = t.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            self.problem(f"{path}.number", "任务编号应为整数")
            return None
        owner = f"T{number:02d}"
        own: list[str] = []
        own_aliases: list[str] = []
        for j, d in enumerate(t.get("indicators") or []):
            ip = f"{path}.indicators[{j}]"
            if isinstance(d, dict) and "same_as" in d:
                d = self.mapping(d, ip, {"id", "name", "quote", "same_as"}, {"id", "same_as"})
                if d is not None:
                    self.unique_indicator_id(self.text(d, "id", ip), f"{ip}.id")
                    self.alias_paths[self.text(d, "id", ip)] = f"{ip}.same_as"
                    aliases.append(Alias(self.text(d, "id", ip), owner, self.text(d, "name", ip),
                                         self.text(d, "quote", ip), self.text(d, "same_as", ip)))  # fmt: skip
                    own_aliases.append(aliases[-1].id)
                continue
            ind = self.indicator(d, ip, owner, False)
            if ind is not None:
                indicators.append(ind)
                own.append(ind.id)
        for j, d in enumerate(t.get("milestones") or []):
            ind = self.indicator(d, f"{path}.milestones[{j}]", owner, True)
            if ind is not None:
                indicators.append(ind)
                own.append(ind.id)
        context = []
        for j, c in enumerate(t.get("context") or []):
            cp = f"{path}.context[{j}]"
            c = self.mapping(c, cp, {"number", "reason"}, {"number", "reason"})
            if c is not None:
                context.append(ContextNumber(self.text(c, "number", cp), self.text(c, "reason", cp)))
        departments = self.strings(t, "departments", path)
        return Task(
            number=number,
            section=section,
            title=self.text(t, "title", path),
            text=self.text(t, "text", path),
            # (optional: by default the departments as listed, so that no 责任部门 shows blank)
            departments_text=self.text(t, "departments_text", path) or "、".join(n for n, _ in departments),
            departments=tuple(n for n, _ in departments),
            respondents=self.resolve_all(departments),
            indicators=tuple(own),
            aliases=tuple(own_aliases),
            context=tuple(context),
        )

    def annex(self, value: Any, path: str) -> Annex | None:
        keys = {"title", "indicator", "note", "base_year", "units"}
        d = self.mapping(value, path, keys, {"title", "indicator", "units"})
        if d is None:
            return None
        ind = self.mapping(d.get("indicator"), f"{path}.indicator", {"name", "unit", "comparison"},
                           {"name", "unit"}) or {}  # fmt: skip
        # the annex is always a decline rate computed from energy and output (assess.assess_unit)
        if ind.get("unit") not in (None, "%"):
            self.problem(f"{path}.indicator.unit", f"附件指标是由能耗和产值计算的下降率，计量单位只能是 %，实际为“{ind['unit']}”")
        if ind.get("comparison") not in (None, Comparison.REDUCTION_AT_LEAST.value):
            self.problem(f"{path}.indicator.comparison",
                         f"附件指标按下降率考核，comparison 只能是 reduction_at_least，实际为“{ind['comparison']}”")  # fmt: skip
        units: list[AnnexUnit] = []
        if not isinstance(d.get("units"), list) or not d.get("units"):
            # (the report's 附件1, 汇总表 and forms are built around it: an empty one printed an empty
            # 表2 and chart; a notice without such an annex is not yet supported)
            self.problem(f"{path}.units", "附件至少需要一个单位（units）；通知没有分解到各单位的附件指标时，本程序暂不支持")
        for i, u in enumerate(d.get("units") or []):
            up = f"{path}.units[{i}]"
            u = self.mapping(u, up, {"seq", "unit", "target", "includes"}, {"unit"})
            if u is None:
                continue
            ids = self.resolve(self.text(u, "unit", up), f"{up}.unit", single=True)
            if len(ids) > 1:
                self.problem(f"{up}.unit", "附件中每行应为单个管理局或镇，不能是一组单位")
            if len(ids) != 1:
                continue
            raw = u.get("target")
            target = None if raw in (None, "/") else self.number(u, "target", up)
            includes = self.strings(u, "includes", up)
            rolls_in = tuple(self.names[n][0] for n, _ in includes if len(self.names.get(n, ())) == 1)
            units.append(AnnexUnit(int(u.get("seq") or i + 1), ids[0], target,
                                   tuple(n for n, _ in includes), rolls_in))  # fmt: skip
        base_year = d.get("base_year")
        return Annex(
            title=self.text(d, "title", path),
            indicator_name=self.text(ind, "name", f"{path}.indicator"),
            unit=self.text(ind, "unit", f"{path}.indicator"),
            comparison=self.enum(Comparison, ind, "comparison", f"{path}.indicator",
                                 Comparison.REDUCTION_AT_LEAST),  # fmt: skip
            note=self.text(d, "note", path),
            base_year=base_year if isinstance(base_year, int) else 0,
            units=tuple(units),
        )

    def task_indicator_checks(self, tasks: list[Task], indicators: list[Indicator], year: int) -> None:
        """A task's figures are asked of its own departments (the lead gets the form's row, so a
        lead outside them reports alone while the task's departments never see it), and its
        milestones fall due within the plan's year (a deadline left from last year's file would
        count as late from the first report)."""
        by_id = {ind.id: ind for ind in indicators}
        for t in tasks:
            for iid in t.indicators:
                ind = by_id.get(iid)
                if ind is None:
                    continue
                where = self.indicator_paths.get(iid, "sections")
                if ind.lead and t.respondents and ind.lead not in t.respondents:
                    self.problem(f"{where}.lead", f"牵头单位“{self.display(ind.lead)}”不在任务 {t.number} 的责任部门"
                                 "（departments）中；请核对，或把它加入该任务的责任部门")  # fmt: skip
                if ind.deadline is not None and year and ind.deadline.year != year:
                    self.problem(f"{where}.deadline", f"完成时间 {ind.deadline.isoformat()} 不在计划年度 {year} 内"
                                 "（可能是沿用了上一年的计划文件）")  # fmt: skip

    def display(self, rid: str) -> str:
        """A respondent id as its name, for messages (the first name registered for it)."""
        return next((n for n, ids in self.names.items() if ids == (rid,) and n != rid), rid)

    def unique_indicator_id(self, iid: str, path: str) -> None:
        if iid in self.indicator_ids:
            self.problem(path, f"指标编号“{iid}”重复")
        self.indicator_ids.add(iid)

    def cross_checks(self, respondents, indicators, aliases, tasks, headline, annex) -> None:
        known = {ind.id for ind in indicators}
        for a in aliases:
            if a.same_as not in known:
                self.problem("sections", f"指标“{a.id}”的 same_as 指向不存在的指标“{a.same_as}”")
        annex_ids = [u.respondent for u in annex.units]
        for rid in set(annex_ids):
            if annex_ids.count(rid) > 1:
                self.problem("annex.units", f"附件中单位“{rid}”出现多次")
        assigned: set[str] = set(annex_ids)
        for t in tasks:
            assigned.update(t.respondents)
        for h in headline:
            assigned.update(h.respondents)
        for ind in indicators:
            assigned.update(ind.reporters)
        for i, r in enumerate(respondents):
            if r.id not in assigned:
                self.problem(f"respondents[{i}]", f"单位“{r.name}”没有任何任务、指标或附件指标，请删除或分配")


def _default(value: float | None, default: float) -> float:
    return default if value is None else value
