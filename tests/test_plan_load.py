"""A broken plan file gets a located, plain-Chinese error list — never a traceback."""

from __future__ import annotations

import re

import pytest

from pdreport.plan import PlanError
from pdreport.plan.load import parse_plan


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    pos = -1
    for _ in range(nth):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1


def _problems(text: str):
    with pytest.raises(PlanError) as info:
        parse_plan(text, source="broken.yaml")
    return info.value.problems, str(info.value)


def test_bundled_plan_parses(plan_text):
    assert parse_plan(plan_text).id == "pudong-2024"


def test_unknown_department_is_located_with_suggestion(plan_text):
    needle = "departments: [区科经委, 区发改委, 张江管理局, 康桥镇, 合庆镇]"
    broken = plan_text.replace(needle, needle.replace("区发改委", "区发该委"))
    problems, message = _problems(broken)
    (p,) = problems
    assert "未知的部门或单位“区发该委”" in p.message and "区发改委" in p.message
    assert p.line == _line_of(broken, "区发该委")
    assert p.path.endswith(".departments[1]")
    assert f"broken.yaml:{p.line}" in message


def test_duplicate_indicator_id(plan_text):
    broken = plan_text.replace("id: T07-2", "id: T07-1")
    (p,) = _problems(broken)[0]
    assert "指标编号“T07-1”重复" in p.message
    assert p.line == _line_of(broken, "id: T07-1", 2)


def test_target_without_unit(plan_text):
    broken = plan_text.replace("      unit: 万千瓦\n", "", 1)
    (p,) = _problems(broken)[0]
    assert "缺少必填字段“unit”" in p.message
    assert p.line == _line_of(broken, "id: T05-1")


def test_respondent_assigned_nothing(plan_text):
    broken = plan_text.replace(
        "- {id: tjj, name: 区统计局",
        "- {id: xyz, name: 区某某局, kind: bureau}\n- {id: tjj, name: 区统计局",
    )
    broken = broken.replace("members_kind: [bureau]", "members: [区发改委]", 1)
    problems, _ = _problems(broken)
    assert any("区某某局" in p.message and "没有任何任务" in p.message for p in problems)
    p = next(p for p in problems if "区某某局" in p.message)
    assert p.line == _line_of(broken, "id: xyz")


def test_indicator_nobody_reports(plan_text):
    broken = plan_text.replace(
        "      lead: 区市场监管局\n", "      combine: sum\n", 1
    )
    (p,) = _problems(broken)[0]
    assert "没有任何单位填报该指标" in p.message
    assert p.line == _line_of(broken, "id: T29-1")


def test_bad_values_all_reported_at_once(plan_text):
    broken = (
        plan_text.replace("elapsed: 0.5}", "elapsed: 50}")
        .replace("comparison: reduction_at_least\n", "comparison: less\n", 1)
        .replace("- number: 三\n", "- number: 3x\n")
        .replace("  title: 2024年全区节能降碳主要目标\n", "  titel: 2024年全区节能降碳主要目标\n")
    )
    problems, message = _problems(broken)
    text = "\n".join(p.message for p in problems)
    assert "序时进度应在 0 到 1 之间" in text
    assert "取值“less”无效" in text
    assert "序号应为“三”，实际为“3x”" in text
    assert "未知字段“titel”，是否应为“title”？" in text
    assert all(p.line for p in problems)
    assert message.startswith(f"计划文件有 {len(problems)} 处问题")


def test_yaml_syntax_error_has_line():
    (p,) = _problems("plan:\n  id: x\n  title: [unclosed\n")[0]
    assert "YAML 格式错误" in p.message and p.line is not None
    assert "未正确闭合" in p.message  # said in the editor's words, PyYAML's after it


def test_yaml_tab_indent_is_explained():
    (p,) = _problems("plan:\n\tid: x\n")[0]
    assert p.line == 2 and "Tab 键" in p.message and "第 1 列" in p.message


@pytest.mark.parametrize("text", ["", "just a string", "[1, 2]", "plan: 3\n"])
def test_nonsense_documents(text):
    problems, message = _problems(text)
    assert problems and "计划文件有" in message


# -- what next year's file most often gets wrong ------------------------------------------------


def test_sections_are_numbered_in_order_and_beyond_ten(plan_text):
    from pdreport.plan.load import chinese_numeral

    assert [chinese_numeral(n) for n in (1, 9, 10, 11, 20, 21, 99)] == ["一", "九", "十", "十一", "二十", "二十一", "九十九"]
    broken = plan_text.replace("- number: 九", "- number: 二", 1)
    (p,) = _problems(broken)[0]
    assert p.path == "sections[8].number" and "第 9 个板块，序号应为“九”，实际为“二”" in p.message
    assert p.line == _line_of(broken, "- number: 二", 2)


def test_a_task_number_out_of_line_is_named(plan_text):
    broken = plan_text.replace("  - number: 15\n", "  - number: 14\n", 1)
    (p,) = _problems(broken)[0]
    assert p.path.endswith(".number") and "第 15 项任务" in p.message and "编号应为 15，实际为 14" in p.message
    assert p.line == _line_of(broken, "  - number: 14", 2)


def test_a_date_that_does_not_exist(plan_text):
    broken = plan_text.replace("deadline: '2024-12-31'", "deadline: '2024-02-30'", 1)
    (p,) = _problems(broken)[0]
    assert "日期“2024-02-30”不存在" in p.message


def test_a_lead_outside_the_tasks_departments(plan_text):
    broken = plan_text.replace("      lead: 区科经委\n  - number: 9", "      lead: 区发改委\n  - number: 9", 1)
    (p,) = _problems(broken)[0]
    assert p.path.endswith("indicators[0].lead") and "牵头单位“区发改委”不在任务 8 的责任部门" in p.message


def test_a_milestone_due_outside_the_plan_year(plan_text):
    broken = plan_text.replace("deadline: '2024-12-31'", "deadline: '2023-12-31'", 1)
    (p,) = _problems(broken)[0]
    assert p.path.endswith("deadline") and "2023-12-31 不在计划年度 2024 内" in p.message


def test_the_annex_indicator_can_only_be_a_decline_rate(plan_text):
    broken = plan_text.replace("indicator: {name: 工业万元产值能耗下降率, unit: '%', comparison: reduction_at_least}",
                               "indicator: {name: 规上工业能耗增量, unit: 万吨标准煤, comparison: at_most}")  # fmt: skip
    problems, _ = _problems(broken)
    assert {p.path for p in problems} == {"annex.indicator.unit", "annex.indicator.comparison"}


def test_a_duplicate_headline_id_points_at_the_row(plan_text):
    broken = plan_text.replace("  - id: H8\n", "  - id: H7\n", 1)
    problems, _ = _problems(broken)
    p = next(p for p in problems if "重复" in p.message)
    assert p.path == "headline.rows[7].id" and p.line == _line_of(broken, "  - id: H7", 2)


def test_an_annex_unit_suggestion_is_a_unit_not_a_group(plan_text):
    broken = plan_text.replace("unit: 万祥镇,", "unit: 万祥,", 1)
    (p,) = _problems(broken)[0]
    assert "万祥镇" in p.message
    broken = plan_text.replace("unit: 万祥镇,", "unit: 镇X,", 1)
    (p,) = _problems(broken)[0]
    assert "是否应为“镇”" not in p.message and "是否应为“各镇”" not in p.message


# -- a file that is no plan, and YAML that PyYAML cannot construct: Chinese, never an exception --


def test_a_folder_or_unreadable_path_is_said_in_chinese(tmp_path):
    from pdreport.plan import load_plan

    with pytest.raises(PlanError) as info:
        load_plan(tmp_path)
    assert "无法读取计划文件：这是一个文件夹，不是文件" in str(info.value)
    assert "Error" not in str(info.value)


@pytest.mark.parametrize(("text", "said"), [
    ("", "计划文件中没有内容"), ("# 只有注释\n", "计划文件中没有内容"),
    ("- plan\n- periods\n", "现在是一个列表"), ("浦东新区计划\n", "现在是一段文字"),
])  # fmt: skip
def test_a_file_without_keys_is_no_plan(text, said):
    (p,) = _problems(text)[0]
    assert said in p.message and p.path == ""
    assert p.render("x.yaml").split("  ", 1)[1] == p.message  # no dangling “：” before the message


@pytest.mark.parametrize("text", [
    "plan: &x [*x]\n",  # an alias inside what it names
    "plan: " + "[" * 990 + "]" * 990 + "\n",  # deep, yet within PyYAML's limit
    "plan: !!int x\n", "plan: !!float x\n", "plan: !!timestamp x\n", "plan: 2024-13-01\n",
    "plan: !!python/object:os.system x\n", "plan: !!omap [1]\n", "<<: 5\n",
])  # fmt: skip
def test_yaml_that_cannot_be_constructed_is_a_plan_problem(text):
    problems, message = _problems(text)
    assert problems and message.startswith("计划文件有")
    assert not re.search(r"[A-Z]\w*(Error|Exception)\b", message), message


def test_an_unquoted_date_that_does_not_exist_is_named_at_its_field(plan_text):
    broken = plan_text.replace("deadline: '2024-12-31'", "deadline: 2024-02-30", 1)
    (p,) = _problems(broken)[0]
    assert p.path.endswith(".deadline") and "日期“2024-02-30”不存在" in p.message
    assert p.line == _line_of(broken, "deadline: 2024-02-30")


def test_cross_check_is_read_and_said_where_it_makes_no_sense(plan_text):
    """``cross_check`` says how contributors' figures are checked: a wrong value is named with the
    choices, and one written without contributors is pointed at."""
    wrong = plan_text.replace("      cross_check: overlapping\n", "      cross_check: overlap\n", 1)
    problems, _ = _problems(wrong)
    assert [p.message for p in problems] == ["取值“overlap”无效，可选：total / parts / overlapping"]
    assert problems[0].line == _line_of(wrong, "cross_check: overlap")
    # T05-1's contributors removed, its cross_check left
    alone = plan_text.replace("      contributors: [区建交委, 区国资委, 区农业农村委, 区机管局, 各管理局（管委会）, 各镇]\n", "", 1)
    problems, _ = _problems(alone)
    assert any("cross_check" in p.message and "contributors" in p.message for p in problems), problems


# -- count units (plan.count_units) and the year a period names ------------------------------------


def _with_count_units(plan_text: str, line: str) -> str:
    return plan_text.replace("  year: 2024\n", f"  year: 2024\n{line}\n", 1)


def test_count_units_default_when_left_out(plan_text):
    from pdreport.plan.model import DEFAULT_COUNT_UNITS

    plan = parse_plan(plan_text)
    assert plan.count_units == DEFAULT_COUNT_UNITS and "场" not in plan.count_units
    assert plan.indicator("T08-1").counted  # 家


def test_count_units_are_plan_data(plan_text):
    """A notice counting in 场 (not in the default list) says so in the plan, not in code: the
    序时目标 is rounded down and the indicator is whole-numbered."""
    from pdreport.periods import sequential_target

    t08 = "quote: 完成10家绿色制造示范单位创建\n      target: 10\n      unit: 家\n"
    assert plan_text.count(t08) == 1
    changed = plan_text.replace(t08, t08.replace("unit: 家", "unit: 场"))
    q3 = parse_plan(changed).period("2024Q3")
    assert not parse_plan(changed).indicator("T08-1").counted
    plan = parse_plan(_with_count_units(changed, "  count_units: [个, 家, 场]"))
    assert plan.count_units == ("个", "家", "场")
    ind = plan.indicator("T08-1")
    assert ind.unit == "场" and ind.counted
    assert sequential_target(ind, q3) == 7.0  # 10 × 0.75 = 7.5, asked whole
    assert not plan.indicator("T18-2").counted  # 辆: left out of this plan's list
    assert not parse_plan(_with_count_units(plan_text, "  count_units: []")).indicator("T08-1").counted


@pytest.mark.parametrize("line, path, words", [
    ("  count_units: [个, 场, 个]", "plan.count_units[2]", "计量单位“个”重复"),
    ("  count_units: [个, 3]", "plan.count_units[1]", "应为非空文字"),
    ("  count_units: 个辆", "plan.count_units", "应为列表"),
    ("  count_units:", "plan.count_units", "应为列表"),
    ("  count_units: [个, '%']", "plan.count_units[1]", "不是整数单位"),
])  # fmt: skip
def test_count_units_are_checked(plan_text, line, path, words):
    broken = _with_count_units(plan_text, line)
    (p,) = _problems(broken)[0]
    assert p.path == path and words in p.message and p.line == _line_of(broken, "count_units")


def test_a_period_id_or_label_naming_another_year(plan_text):
    """Dates moved to 2025 but 2024H1 / 2024年上半年 kept: every form would be named 2024."""
    text = plan_text.replace("  year: 2024\n", "  year: 2025\n", 1)
    text = re.sub(r"'2024-(\d\d-\d\d)'", r"'2025-\1'", text).replace("'2025-01-15'", "'2026-01-15'")
    broken = text.replace("{id: 2025", "{id: 2024")  # (in case the ids were already moved)
    problems, _ = _problems(broken)
    assert [p.path for p in problems] == [f"periods[{i}].{k}" for i in range(4) for k in ("id", "label")]
    h1 = problems[2]
    assert h1.message == "报送期编号“2024H1”中的年份 2024 不是计划年度 2025（可能是沿用了上一年的计划文件）"
    assert problems[3].message.startswith("报送期名称“2024年上半年”中的年份 2024")
    assert h1.line == _line_of(broken, "{id: 2024H1")
    fixed = re.sub(r"\{id: 2024(\w\w), label: 2024年", r"{id: 2025\1, label: 2025年", broken)
    assert parse_plan(fixed).period("2025H1").label == "2025年上半年"


def test_a_key_written_twice_is_a_problem_not_the_last_value(plan_text):
    # YAML itself keeps the last value: a second "target:" line would change the target unseen
    needle = "      target: 15\n      unit: 万千瓦"
    assert needle in plan_text
    broken = plan_text.replace(needle, "      target: 15\n      target: 150\n      unit: 万千瓦", 1)
    (p,) = _problems(broken)[0]
    assert p.line == _line_of(broken, "target: 150") and p.path.endswith(".indicators[0].target")
    assert f"第 {_line_of(broken, 'target: 15')} 行已有" in p.message and "写了两次" in p.message
    # merge keys (<<), twice even, are YAML's way of sharing keys: not a repetition (the keys
    # written beside them win)
    merged = plan_text.replace("plan:\n", "plan:\n  <<: {id: x}\n  <<: {id: y}\n", 1)
    assert parse_plan(merged).id == "pudong-2024"


def test_full_width_spaces_and_an_open_quote_are_named_on_their_own_line(plan_text):
    # (PyYAML notices both a line or more later, as "mapping values are not allowed" and the like)
    assert "\n  year: 2024\n" in plan_text
    broken = plan_text.replace("\n  year: 2024\n", "\n\u3000\u3000year: 2024\n", 1)
    (p,) = _problems(broken)[0]
    assert p.line == _line_of(broken, "\u3000\u3000year") and "全角空格" in p.message
    version = re.search(r"\n  version: '([^'\n]*)'\n", plan_text)
    assert version
    broken = plan_text.replace(version.group(0), f"\n  version: '{version.group(1)}\n", 1)
    (p,) = _problems(broken)[0]
    assert p.line == _line_of(broken, "  version: '") and "引号没有配对" in p.message


def test_a_paragraph_indented_with_full_width_spaces_is_not_blamed_for_an_error_elsewhere(plan_text):
    # (a paragraph of text begins with two full-width spaces, as Chinese paragraphs do: that is no
    # indent of a key, nor near the error, which is said where PyYAML found it)
    paragraph = "notes: |\n  \u3000\u3000第一段：说明文字。\n  第二段\n"
    broken = paragraph + plan_text.replace("\n  year: 2024\n", "\n  year: [2024\n", 1)
    (p,) = _problems(broken)[0]
    assert "全角空格" not in p.message and p.line > 10
    # a quoted text over two lines, before the mapping PyYAML was reading, is not blamed either
    quoted = "notes: '第一行\n  第二行'\n"
    (p,) = _problems(quoted + plan_text.replace("\n  year: 2024\n", "\n  year: [2024\n", 1))[0]
    assert "引号没有配对" not in p.message


def test_what_a_plan_for_another_year_may_leave_out(plan_text):
    """From writing a 2025 plan by the docs alone: a task without ``departments_text`` shows its
    departments (not a blank 责任部门 everywhere); a headline without rows is refused (it gave an
    empty 表1); an annex without ``base_year`` says no "考核基数为0年"."""
    from pdreport.errors import UsageError

    needle = "    departments_text: 区发改委、区规划资源局、区科经委、区生态环境局\n"
    assert plan_text.count(needle) == 1
    plan = parse_plan(plan_text.replace(needle, ""))
    assert plan.task(22).departments_text == "区发改委、区规划资源局、区科经委、区生态环境局"
    start, end = plan_text.index("headline:\n"), plan_text.index("\nsections:")
    with pytest.raises(PlanError, match=r"headline\.rows：至少需要一项总体目标"):
        parse_plan(plan_text[:start] + "headline:\n  title: 主要目标\n  rows: []\n" + plan_text[end:])
    with pytest.raises(UsageError, match="这是 2024 年的计划，2025 年的报送期请用 --plan 指定"):
        plan.period("2025H1")


def test_an_annex_without_a_base_year_names_none(plan_text):
    import io

    import openpyxl

    from pdreport.assess import assess
    from pdreport.summary import render_summary

    assert re.search(r"\n  base_year: \d+\n", plan_text)
    plan = parse_plan(re.sub(r"\n  base_year: \d+\n", "\n", plan_text, count=1))
    a = assess(plan, plan.period("2024H1"), {}, [])
    ws = openpyxl.load_workbook(io.BytesIO(render_summary(a)))["附件-镇管理局"]
    note = ws["A2"].value
    assert "不考核。" in note and "考核基数" not in note


def test_an_annex_without_units_is_refused(plan_text):
    """An empty annex passed the check and printed an empty 附件1 (表2, chart, "附件所列0个考核单位")."""
    start = plan_text.index("\n  units:\n")
    assert all(line.startswith("  - ") for line in plan_text[start:].splitlines()[2:])  # (units: the file's end)
    with pytest.raises(PlanError, match=r"annex\.units：附件至少需要一个单位"):
        parse_plan(plan_text[:start] + "\n  units: []\n")
