"""The bundled 2024 plan checked against the notice's own text."""

from __future__ import annotations

import re

from pdreport.plan import Accumulation, Comparison, RespondentKind
from pdreport.plan.model import format_number

NUMBER = re.compile(r"\d+(?:\.\d+)?")


def test_counts(plan):
    assert len(plan.headline) == 8
    assert [s.number for s in plan.sections] == list("一二三四五六七八九")
    assert [t.number for t in plan.tasks] == list(range(1, 35))
    kinds = [r.kind for r in plan.respondents]
    assert kinds.count(RespondentKind.BUREAU) == 16
    assert kinds.count(RespondentKind.STREET) == 12
    assert kinds.count(RespondentKind.AUTHORITY) + kinds.count(RespondentKind.TOWN) == 30
    assert len(plan.respondents) == 58
    assert len(plan.annex.units) == 30
    # The notice's annex marks five units "/" (度假区管委会, 陆家嘴管理局, 世博管理局, 金桥镇, 张江镇).
    assert sorted(plan.respondent(u.respondent).name for u in plan.annex.units if not u.assessed) == sorted(
        ["度假区管委会", "陆家嘴管理局", "世博管理局", "金桥镇", "张江镇"]
    )


def test_sections_and_tasks_are_verbatim(plan, notice):
    for s in plan.sections:
        assert f"（{s.number}）{s.title}" in notice
        for n in s.tasks:
            assert plan.task(n).section == s.number
    for t in plan.tasks:
        assert t.text.startswith(t.title + "。")
        assert f"{t.number}.{t.text}" in notice or f"{t.number}．{t.text}" in notice, t.number
        assert f"{t.text}（责任部门：{t.departments_text}）" in notice, t.number


def test_departments_resolve_token_by_token(plan):
    for t in plan.tasks:
        tokens = re.split(r"[、，]", t.departments_text)
        resolved = set()
        for token in tokens:
            ids = plan.resolve(token)
            assert ids, f"task {t.number}: {token} does not resolve"
            resolved.update(ids)
        assert resolved == set(t.respondents), t.number
    for h in plan.headline:
        ids = set().union(*(plan.resolve(tok) for tok in h.departments_text.split("、")))
        assert ids == set(h.respondents)


def test_every_number_in_a_task_is_an_indicator_or_context(plan):
    for t in plan.tasks:
        allowed = {c.number for c in t.context}
        for iid in t.indicators:
            ind = plan.indicator(iid)
            if ind.target is not None:
                allowed.add(format_number(ind.target))
        for aid in t.aliases:
            alias = next(a for a in plan.aliases if a.id == aid)
            allowed.add(format_number(plan.indicator(alias.same_as).target))
        for number in NUMBER.findall(t.text):
            assert number in allowed, f"task {t.number}: {number} is neither an indicator nor context"
        # context entries must really be in the text (no stale excuses)
        for c in t.context:
            assert c.number in NUMBER.findall(t.text), (t.number, c.number)


def test_indicator_quotes_and_targets(plan, notice):
    for ind in plan.indicators:
        if ind.task_number is not None:
            assert ind.quote in plan.task(ind.task_number).text, ind.id
        if ind.is_milestone:
            assert ind.target is None and ind.deadline is not None and ind.lead
            continue
        assert ind.unit, ind.id
        assert ind.reporters, ind.id
        if ind.quote:
            assert format_number(ind.target) in ind.quote, ind.id


def test_headline_rows(plan, notice):
    rows = {h.id: h for h in plan.headline}
    assert [h.field for h in plan.headline] == ["全区", "工业"] + ["公共建筑"] * 4 + ["公共机构"] * 2
    for h in plan.headline:
        assert h.target_text in notice
        assert format_number(plan.indicator(h.id).target) in h.target_text
    assert plan.indicator("H1").comparison is Comparison.REDUCTION_AT_LEAST
    assert plan.indicator("H1").target == 5.3
    assert rows["H3"].departments == ("区商务委", "区教育局", "区文体旅游局", "区卫生健康委", "区金融局")
    assert rows["H7"].departments == ("区府办（机管局）",)
    # 区府办（机管局） is one respondent, also written 区机管局 in the tasks
    assert plan.resolve("区机管局") == plan.resolve("区府办（机管局）") == ("jgj",)


def test_key_targets(plan):
    expect = {
        "T05-1": (15, "万千瓦"), "T07-1": (10, "家"), "T07-2": (20, "个"), "T08-1": (10, "家"),
        "T12-1": (2, "个"), "T13-1": (100, "万平方米"), "T15-1": (10, "栋"), "T15-2": (10, "栋"),
        "T16-1": (6, "家"), "T16-2": (20, "家"), "T17-1": (442, "辆"), "T17-2": (94, "%"),
        "T18-1": (2, "个"), "T18-2": (2608, "辆"), "T18-3": (2600, "个"), "T19-1": (3, "处"),
        "T19-2": (2, "个"), "T19-3": (5, "项"), "T19-4": (1, "个"), "T20-1": (5000, "亩"),
        "T20-2": (30, "座"), "T22-1": (1, "%"), "T24-1": (95, "%"), "T29-1": (60, "台"),
        "T32-1": (10, "家"), "T33-1": (35, "所"), "T33-2": (2, "所"),
        "H5": (10, "万平方米"), "H8": (1.2, "%"),
    }  # fmt: skip
    for iid, (target, unit) in expect.items():
        ind = plan.indicator(iid)
        assert (ind.target, ind.unit) == (target, unit), iid
    assert plan.indicator("T24-1").comparison is Comparison.AROUND
    assert plan.indicator("T24-1").tolerance == 1
    assert plan.indicator("T17-2").accumulation is Accumulation.LEVEL
    pv = plan.indicator("T05-1")
    assert pv.lead == "fgw"
    assert {"jjw", "gzw", "nyncw", "jgj", "chuansha_zhen", "zhangjiang_glj"} <= set(pv.contributors)
    assert next(a for a in plan.aliases if a.id == "T13-2").same_as == "H5"


def test_annex_matches_notice(plan, notice):
    for u in plan.annex.units:
        name = plan.respondent(u.respondent).name
        assert f"{u.seq}{name}{format_number(u.target)}" in notice, name
    assert plan.annex.note in notice
    jq = plan.annex.unit_for("jinqiao_glj")
    assert jq.rolls_in == ("jinqiao_zhen",)
    assert plan.annex.rolls_into("zhangjiang_zhen") == "zhangjiang_glj"
    assert plan.annex.unit_for("huinan_zhen").target == 6


def test_footnote_and_meta(plan, notice):
    (fn,) = plan.footnotes
    assert len(fn.items) == 6
    assert fn.text in notice
    # the PDF page break put the footnote (marker "1" + text) inside the goal paragraph
    assert plan.goal in notice.replace("1" + fn.text, "")
    assert plan.considerations in notice
    assert str(plan.date) == "2024-04-09"
    assert plan.respondent(plan.coordinator).name == "区发改委"


def test_streets_get_their_tasks(plan):
    streets = [r for r in plan.respondents if r.kind is RespondentKind.STREET]
    for s in streets:
        assert [t.number for t in plan.tasks_for(s.id)] == [21, 23, 24, 34]


def test_every_respondent_has_something(plan):
    for r in plan.respondents:
        annex = plan.annex.unit_for(r.id)
        assert plan.tasks_for(r.id) or plan.indicators_for(r.id) or annex, r.name


def test_periods(plan):
    assert [(p.id, p.elapsed) for p in plan.periods] == [
        ("2024Q1", 0.25), ("2024H1", 0.5), ("2024Q3", 0.75), ("2024FY", 1.0)
    ]
    for p in plan.periods:
        assert p.deadline > p.end
