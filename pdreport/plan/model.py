"""The plan as typed values: what the notice asks, of whom, and by when.

Everything here is immutable and free of I/O; ``load.py`` builds it from YAML and
checks it. Names that appear in the notice (departments, units) are resolved to
respondent ids at load time, so later stages only deal with ids.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

# Chinese measure words of whole things: an indicator in one of these is a count, never a fraction.
# The default of the plan's ``count_units`` (a plan file that leaves it out gets this list).
DEFAULT_COUNT_UNITS: tuple[str, ...] = tuple("个辆座所处项家栋台艘根条户幢套部只")
COUNT_UNITS = frozenset(DEFAULT_COUNT_UNITS)
# power units and how many 千瓦 each is, keys lower case ("kW", "KW" and "kw" alike): the number
# hints convert a typed unit with it, the demo plants a unit slip with it
POWER_IN_KW = {"千瓦": 1, "kw": 1, "兆瓦": 1_000, "mw": 1_000, "万千瓦": 10_000, "万kw": 10_000,
               "吉瓦": 1_000_000, "gw": 1_000_000}  # fmt: skip


class RespondentKind(str, Enum):
    BUREAU = "bureau"  # 区政府委办局
    AUTHORITY = "authority"  # 管理局 / 管委会
    TOWN = "town"  # 镇
    STREET = "street"  # 街道

    @property
    def label(self) -> str:
        return {"bureau": "委办局", "authority": "管理局（管委会）", "town": "镇", "street": "街道"}[
            self.value
        ]


class Comparison(str, Enum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    AROUND = "around"
    REDUCTION_AT_LEAST = "reduction_at_least"
    DONE = "done"

    @property
    def label(self) -> str:
        return {
            "at_least": "不低于",
            "at_most": "不高于",
            "around": "左右",
            "reduction_at_least": "下降不少于",
            "done": "完成",
        }[self.value]


class Accumulation(str, Enum):
    CUMULATIVE = "cumulative"  # counts/amounts that add up over the year: 序时 applies
    LEVEL = "level"  # a level or ratio observed at the period end
    RATE = "rate"  # year-on-year rate of change for the period
    MILESTONE = "milestone"  # done or not by a deadline

    @property
    def label(self) -> str:
        return {"cumulative": "累计数", "level": "水平值", "rate": "同比变化率", "milestone": "里程碑"}[
            self.value
        ]


class CrossCheck(str, Enum):
    """What the contributors' figures are to the lead's district figure, and so what is checked."""

    TOTAL = "total"  # together they are the district: their sum should equal the lead's figure
    PARTS = "parts"  # separate parts of the district: their sum should not exceed it
    OVERLAPPING = "overlapping"  # counted by sector and by area at once: no unit alone exceeds it


class Combine(str, Enum):
    LEAD = "lead"  # the lead respondent's figure is the district figure
    SUM = "sum"  # the district figure is the sum of all reporters
    EACH = "each"  # each reporter is assessed on its own against the target


@dataclass(frozen=True)
class Respondent:
    id: str
    name: str
    kind: RespondentKind
    full_name: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A collective phrase of the notice (各镇, 相关管理局（管委会）…) and who it means."""

    id: str
    name: str
    members: tuple[str, ...]  # respondent ids
    aliases: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Indicator:
    id: str
    owner: str  # "H1".."H8" for headline rows, "T05" style for tasks
    name: str
    quote: str  # the words of the notice this indicator encodes
    target: float | None
    unit: str
    comparison: Comparison
    accumulation: Accumulation
    lead: str | None  # respondent id
    contributors: tuple[str, ...] = ()  # respondent ids; figures only cross-check the lead
    reporters: tuple[str, ...] = ()  # everyone who reports it, lead first
    combine: Combine = Combine.LEAD
    tolerance: float | None = None  # for AROUND, in the indicator's unit
    cross_check: CrossCheck = CrossCheck.PARTS  # what the contributors' figures must agree with
    cross_check_tolerance: float = 0.05  # relative excess (or gap, for TOTAL) that is flagged
    deadline: dt.date | None = None  # milestones
    note: str = ""
    # the plan's count units (plan.count_units), set by the loader; private: not in the JSON export
    _count_units: frozenset[str] = field(default=COUNT_UNITS, repr=False, compare=False)

    @property
    def counted(self) -> bool:
        """Whole things (buses, sites, firms): a figure is a whole number. Which units count
        whole things is the plan's ``count_units``."""
        return self.unit in self._count_units

    @property
    def is_milestone(self) -> bool:
        return self.accumulation is Accumulation.MILESTONE

    @property
    def task_number(self) -> int | None:
        return int(self.owner[1:]) if self.owner.startswith("T") else None

    def target_text(self) -> str:
        """The target as the notice states it, e.g. '≥ 15 万千瓦', '下降 5.3%'."""
        if self.is_milestone:
            return f"{chinese_date(self.deadline)}前完成" if self.deadline else "完成"
        value = format_number(self.target)
        unit = self.unit
        if self.comparison is Comparison.REDUCTION_AT_LEAST:
            return f"下降{value}{unit}以上"
        if self.comparison is Comparison.AROUND:
            return f"{value}{unit}左右（±{format_number(self.tolerance)}）"
        if self.comparison is Comparison.AT_MOST:
            return f"不高于{value}{unit}"
        return f"不少于{value}{unit}"


@dataclass(frozen=True)
class Alias:
    """An indicator stated twice in the notice: collected once, under ``same_as``."""

    id: str
    owner: str
    name: str
    quote: str
    same_as: str


@dataclass(frozen=True)
class ContextNumber:
    """A number in a task's text that is not a target (a year, a threshold, a line number)."""

    number: str
    reason: str


@dataclass(frozen=True)
class HeadlineTarget:
    id: str
    field: str  # 全区 / 工业 / 公共建筑 / 公共机构
    label: str  # what the table's first column shows
    target_text: str
    departments_text: str
    departments: tuple[str, ...]  # names as written, resolved below
    respondents: tuple[str, ...]
    indicator: str  # indicator id


@dataclass(frozen=True)
class Task:
    number: int
    section: str  # 一 .. 九
    title: str
    text: str
    departments_text: str
    departments: tuple[str, ...]
    respondents: tuple[str, ...]
    indicators: tuple[str, ...] = ()  # ids, milestones included
    aliases: tuple[str, ...] = ()
    context: tuple[ContextNumber, ...] = ()

    @property
    def code(self) -> str:
        return f"T{self.number:02d}"


@dataclass(frozen=True)
class Section:
    number: str  # 一 .. 九
    index: int
    title: str
    tasks: tuple[int, ...]


@dataclass(frozen=True)
class AnnexUnit:
    seq: int
    respondent: str  # id
    target: float | None  # None = "/" (not assessed)
    includes: tuple[str, ...] = ()  # names as the note writes them
    rolls_in: tuple[str, ...] = ()  # respondent ids whose figures add into this unit

    @property
    def assessed(self) -> bool:
        return self.target is not None


@dataclass(frozen=True)
class Annex:
    title: str
    indicator_name: str
    unit: str
    comparison: Comparison
    note: str
    base_year: int
    units: tuple[AnnexUnit, ...]

    def unit_for(self, respondent_id: str) -> AnnexUnit | None:
        for unit in self.units:
            if unit.respondent == respondent_id:
                return unit
        return None

    def rolls_into(self, respondent_id: str) -> str | None:
        for unit in self.units:
            if respondent_id in unit.rolls_in:
                return unit.respondent
        return None


@dataclass(frozen=True)
class Period:
    id: str
    label: str
    start: dt.date
    end: dt.date
    deadline: dt.date
    elapsed: float  # share of the year for 序时进度

    @property
    def is_year_end(self) -> bool:
        return self.elapsed >= 1.0


@dataclass(frozen=True)
class Footnote:
    id: str
    ref: str
    text: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Contact:
    office: str
    person: str = ""
    phone: str = ""
    email: str = ""

    @property
    def details(self) -> str:
        """'联系人：…，电话：…，邮箱：…', leaving out what the plan does not give ("" for none)."""
        parts = (("联系人", self.person), ("电话", self.phone), ("邮箱", self.email))
        return "，".join(f"{k}：{v}" for k, v in parts if v)

    def send_to(self) -> str:
        """Where returns go, as the end of a sentence: '报送<office>，联系人：…，电话：…。' ("" when
        the plan gives nothing; nothing is invented)."""
        head = f"报送{self.office}" if self.office else ""
        text = "，".join(s for s in (head, self.details) if s)
        return f"{text}。" if text else ""


@dataclass(frozen=True)
class Plan:
    id: str
    version: str
    year: int
    title: str
    notice_title: str
    recipients: str
    issuer: str
    issuer_seal: str
    date: dt.date
    printed_by: str
    coordinator: str  # respondent id
    contact: Contact
    considerations: str
    goal: str
    footnotes: tuple[Footnote, ...]
    periods: tuple[Period, ...]
    respondents: tuple[Respondent, ...]
    groups: tuple[Group, ...]
    headline_title: str
    headline: tuple[HeadlineTarget, ...]
    sections: tuple[Section, ...]
    tasks: tuple[Task, ...]
    indicators: tuple[Indicator, ...]
    aliases: tuple[Alias, ...]
    annex: Annex
    count_units: tuple[str, ...] = DEFAULT_COUNT_UNITS  # units of whole things (个, 辆 …), as written
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        idx = self._index
        idx["respondent"] = {r.id: r for r in self.respondents}
        idx["indicator"] = {i.id: i for i in self.indicators}
        idx["task"] = {t.number: t for t in self.tasks}
        idx["period"] = {p.id: p for p in self.periods}
        names: dict[str, Respondent] = {}
        for r in self.respondents:  # the first respondent a name fits, as a scan in order finds it
            for name in (r.id, r.name, *r.aliases):
                names.setdefault(name, r)
        idx["name"] = names

    # -- lookups ---------------------------------------------------------------
    def respondent(self, respondent_id: str) -> Respondent:
        return self._index["respondent"][respondent_id]

    def indicator(self, indicator_id: str) -> Indicator:
        return self._index["indicator"][indicator_id]

    def task(self, number: int) -> Task:
        return self._index["task"][number]

    def task_indicators(self, task: Task) -> tuple[str, ...]:
        """The ids of the indicators ``task`` is measured by: its own, then those it states again
        (task 13's "其中…公共建筑节能改造不少于10万平方米" is the headline's H5, ``same_as``)."""
        again = tuple(a.same_as for a in self.aliases if a.id in task.aliases)
        return tuple(dict.fromkeys((*task.indicators, *again)))

    def period(self, period_id: str) -> Period:
        """By id; "2024h1" and " 2024H1 " are taken for 2024H1."""
        periods = self._index["period"]
        try:
            return periods[period_id] if period_id in periods else periods[period_id.strip().upper()]
        except KeyError:
            from ..errors import UsageError

            known = "、".join(p.id for p in self.periods)
            year = period_id.strip()[:4]
            other = (f"；这是 {self.year} 年的计划，{year} 年的报送期请用 --plan 指定该年度的计划文件"
                     if year.isdigit() and int(year) != self.year else "")  # fmt: skip
            raise UsageError(f"报送期“{period_id}”不在计划中，可选：{known}{other}") from None

    def departments_as_named(self, text: str, departments: Sequence[str]) -> str:
        """The notice's 责任部门 ``text`` with each unit of ``departments`` by its own name, as every
        output names it: the notice writes 区机管局 where the tables say 区府办（机管局）, which reads
        as two departments (and a filter on one misses the other). Groups (各街镇) and departments
        that report nothing stay as written."""
        for name in sorted(set(departments), key=len, reverse=True):
            r = self.find_respondent(name)
            if r is not None and r.name != name.strip():
                text = re.sub(rf"(?<![\w（]){re.escape(name.strip())}(?![\w）])", r.name, text)
        return text

    def find_respondent(self, name: str) -> Respondent | None:
        """By id, name or alias (exact, after trimming)."""
        return self._index["name"].get(name.strip())

    def respondents_named_in(self, text: str) -> dict[int, set[str]]:
        """{length: ids} of the respondents whose name or an alias (two characters or more) occurs
        in ``text`` (a file name), found by looking up the pieces of ``text`` as long as names are:
        a plan of 10,000 units is not scanned name by name for every file."""
        cached = self._index.get("names_in")
        if cached is None or cached[0] is not self.respondents:
            by: dict[str, set[str]] = {}
            for r in self.respondents:
                for n in (r.name, *r.aliases):
                    if len(n) >= 2:
                        by.setdefault(n, set()).add(r.id)
            cached = self._index["names_in"] = (self.respondents, by, sorted({len(n) for n in by}))
        _respondents, by, lengths = cached
        hits: dict[int, set[str]] = {}
        for n in lengths:
            for i in range(len(text) - n + 1):
                ids = by.get(text[i : i + n])
                if ids:
                    hits.setdefault(n, set()).update(ids)
        return hits

    def resolve(self, name: str) -> tuple[str, ...]:
        """Respondent ids a name of the notice stands for: one unit, or a group (各镇 …)."""
        name = name.strip()
        r = self.find_respondent(name)
        if r is not None:
            return (r.id,)
        for g in self.groups:
            if name in (g.id, g.name, *g.aliases):
                return g.members
        return ()

    def owner_name(self, owner: str, sep: str = "") -> str:
        """A headline row or a task ("H5", "T12": an indicator's ``owner``) as the notice numbers it
        and the forms print it: "总体目标第5项", "任务12" (``sep`` goes between 总体目标 and 第5项)."""
        if owner.startswith("T") and owner[1:].isdigit():
            return f"任务{int(owner[1:])}"
        ids = [h.id for h in self.headline]
        return f"总体目标{sep}第{ids.index(owner) + 1}项" if owner in ids else "总体目标"

    def group_uses(self, group: Group) -> list[str]:
        """Where the notice names ``group`` as responsible ("总体目标第1项", "任务6")."""
        names = {group.name, *group.aliases}
        owners = [h.id for h in self.headline if names & set(h.departments)]
        return [self.owner_name(o) for o in owners + [t.code for t in self.tasks if names & set(t.departments)]]

    # -- who reports what --------------------------------------------------------
    def indicators_for(self, respondent_id: str) -> tuple[Indicator, ...]:
        """The indicators ``respondent_id`` reports, in plan order."""
        return self._who("indicators_for", self.indicators, "reporters").get(respondent_id, ())

    def tasks_for(self, respondent_id: str) -> tuple[Task, ...]:
        """The tasks ``respondent_id`` reports on, in plan order."""
        return self._who("tasks_for", self.tasks, "respondents").get(respondent_id, ())

    def _who(self, key: str, items: tuple, attr: str) -> dict[str, tuple]:
        """respondent id → the items whose ``attr`` names it (built once: a plan with thousands of
        respondents would otherwise scan every item's list for each respondent)."""
        cached = self._index.get(key)
        if cached is not None and cached[0] is items:  # (checked: ``dataclasses.replace`` shares _index)
            return cached[1]
        lists: dict[str, list] = {}
        for item in items:
            for rid in dict.fromkeys(getattr(item, attr)):
                lists.setdefault(rid, []).append(item)
        by = {rid: tuple(v) for rid, v in lists.items()}
        self._index[key] = (items, by)
        return by

    def headline_for(self, indicator_id: str) -> HeadlineTarget | None:
        for row in self.headline:
            if row.indicator == indicator_id:
                return row
        return None

    def section(self, number: str) -> Section:
        return next(s for s in self.sections if s.number == number)


def format_number(value: float | None) -> str:
    """15.0 -> '15', 5.3 -> '5.3'; None -> '/'."""
    if value is None:
        return "/"
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def chinese_date(d: dt.date) -> str:
    """2024-06-30 -> '2024年6月30日' (no zero padding, as official documents write it)."""
    return f"{d.year}年{d.month}月{d.day}日"
