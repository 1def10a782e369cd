"""The Word report: templates/*.md.j2 → lines of light markup → an official-format .docx.

Wording lives in the jinja2 templates (one per part of the report, editable without code);
tables and charts are laid out here from the assessment, because their columns are data,
not prose. The markup, one directive per line (a plain line is a body paragraph):

    @标题 文字        the document title           # / ## / ###  一、 / （一） / 1. headings
    @表格 名称 [表题]  a table (总体目标, 附件1, 报送情况, 问题统计), with its caption above
    @图表 名称        a chart (任务状态, 附件下降率)
    @附件 N 标题      a new page with 附件N and its title
    @附件说明 名称｜名称   "附件：1. …" with further names aligned under the first
    @落款             issuer and date                @分页  a page break

In a title (``@标题``, ``@附件``) "｜" is a line break: GB/T 9704 keeps words whole across title
lines, and only the author knows where the words are.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..assess import (
    Assessment,
    findings_by_respondent,
    intensity_places,
    rate_places,
    unknown_files,
)
from ..errors import PdreportError
from ..plan.model import format_number
from ..problems import UNKNOWN_FILES as PROBLEM_LIST_UNKNOWN_FILES
from ..problems import unknown_files_note
from . import charts
from . import docx_format as fmt
from .context import build_context, findings_by_code, headline_rows, number_text, report_title
from .prepared import PreparedCharts, chart_job
from .template_errors import template_error_text

PARTS = ("01_title.md.j2", "02_overall.md.j2", "03_tasks.md.j2", "04_problems.md.j2",
         "05_annex1.md.j2", "06_annex2.md.j2")  # fmt: skip
HEADING_MARKS = {"###": 3, "##": 2, "#": 1}
TITLE_BREAK = "｜"  # a line break in a title


class ReportTemplateError(PdreportError):
    """A report template is missing, does not parse, or uses a variable that does not exist."""


def default_templates_dir() -> Path:
    """``templates/`` at the top of the project in a source checkout (also what an editable install
    uses), else the copy a wheel installs as ``pdreport/_templates/`` (see pyproject.toml). When
    neither exists, the checkout's path, so that the error names the folder the docs describe."""
    from importlib.resources import files

    root = Path(__file__).resolve().parents[2]
    checkout = root / "templates"
    # pyproject.toml tells a checkout from an install whose parent folder merely has a templates/.
    if checkout.is_dir() and (root / "pyproject.toml").is_file():
        return checkout
    installed = files("pdreport").joinpath("_templates")
    if isinstance(installed, Path) and installed.is_dir():  # not a zip import: a real folder
        return installed
    return checkout


def report_filename(a: Assessment) -> str:
    return report_title(a) + ".docx"


def render_markup(a: Assessment, templates_dir: Path | None = None,
                  report_date: dt.date | None = None) -> list[tuple[str, str]]:  # fmt: skip
    """(template name, rendered text) for every part, in order."""
    return _render_parts(templates_dir, build_context(a, report_date))


def _render_parts(templates_dir: Path | None, context: dict | None) -> list[tuple[str, str]]:
    """Each part rendered with ``context``; with None, only loaded and parsed (a check that can run
    before the returns are read)."""
    folder = Path(templates_dir or default_templates_dir())
    if not folder.is_dir():
        raise ReportTemplateError(f"找不到报告模板文件夹：{folder}（可用 --templates 指定）")
    env = _environment(str(folder.resolve()))
    out = []
    for name in PARTS:
        try:
            template = env.get_template(name)
            out.append((name, template.render(**context) if context is not None else ""))
        except jinja2.TemplateNotFound:
            raise ReportTemplateError(f"报告模板缺少文件：{folder / name}") from None
        except Exception as exc:  # noqa: BLE001 - any mistake in an edited template: said in Chinese
            raise ReportTemplateError(template_error_text(exc, name)) from None
    return out


@functools.lru_cache(maxsize=4)
def _environment(folder: str) -> SandboxedEnvironment:
    """One environment per template folder and process, so that the templates parsed by the early
    check are not parsed again to render (jinja2 reloads a template whose file has changed)."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folder, encoding="utf-8"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )  # fmt: skip


def check_templates(templates_dir: Path | None) -> None:
    """The report templates are all there and parse: said before a long run reads the returns."""
    _render_parts(templates_dir, None)


def render_report(a: Assessment, templates_dir: Path | None = None, report_date: dt.date | None = None,
                  with_charts: bool = True, prepared: PreparedCharts | None = None,
                  resubmit_by: dt.date | None = None) -> bytes:  # fmt: skip
    """``prepared``: charts drawn ahead (``PreparedCharts``); any chart it does not hold with the
    same inputs is drawn here, so the result is the same with or without it. ``resubmit_by``: the
    重新报送期限 the 退回修改 copies give (the default is theirs without ``--resubmit-by``)."""
    from ..collect import default_report_date

    report_date = report_date or default_report_date(a.period, [c.submission for c in a.submitted])
    context = build_context(a, report_date, resubmit_by)
    created = dt.datetime.combine(report_date, dt.time(9, 0))
    doc = fmt.new_document(context["report_title"], created)
    tables: dict[str, Callable] = {"总体目标": _headline_table, "附件1": _annex_table,
                                   "报送情况": _submission_table, "问题统计": _findings_table}  # fmt: skip
    figures: dict[str, Callable] = {"任务状态": lambda d, x: _task_chart(d, x, prepared),
                                    "附件下降率": lambda d, x: _annex_chart(d, x, prepared)}  # fmt: skip
    for name, text in _render_parts(templates_dir, context):  # the context is built once
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            where = f"报告模板 {name} 生成的第 {n} 行"
            if line.startswith("@"):
                _directive(doc, a, context, line, tables, figures, with_charts, where)
                continue
            mark, _, rest = line.partition(" ")
            if mark in HEADING_MARKS and rest:
                fmt.heading(doc, rest.strip(), HEADING_MARKS[mark])
            else:
                fmt.para(doc, line)
    return fmt.save_bytes(doc)


def _directive(doc, a, context, line, tables, figures, with_charts, where) -> None:
    word, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if word == "标题":
        fmt.title(doc, _title_lines(arg))
    elif word == "落款":
        fmt.signature(doc, a.plan.issuer, context["date"])
    elif word == "附件说明":
        fmt.attachment_note(doc, [t.strip() for t in arg.split("｜") if t.strip()])
    elif word == "分页":
        fmt.page_break(doc)
    elif word == "附件":
        number, _, title = arg.partition(" ")
        if not number.isdigit():
            raise ReportTemplateError(f"{where}：@附件 后应为“编号 标题”，如 @附件 1 标题")
        fmt.attachment(doc, int(number), _title_lines(title.strip()))
    elif word == "表格" and arg.partition(" ")[0] in tables:
        name, _, caption = arg.partition(" ")
        tables[name](doc, a, caption.strip())
    elif word == "图表" and arg in figures:
        if with_charts:
            figures[arg](doc, a)
    else:
        known = "、".join([f"@表格 {t}" for t in tables] + [f"@图表 {f}" for f in figures])
        raise ReportTemplateError(f"{where}：无法识别“{line[:30]}”。可用：@标题 @落款 @分页 @附件 @附件说明 {known}")


def _title_lines(text: str) -> str:
    """A title's "｜" as line breaks (blank lines dropped)."""
    return "\n".join(part.strip() for part in text.split(TITLE_BREAK) if part.strip())


# -- tables ------------------------------------------------------------------------------------


def _headline_table(doc, a: Assessment, caption: str = "") -> None:
    if a.previous is None:
        header = ["序号", "领域", "目标", "责任部门", "完成情况", "状态"]
        rows = [[str(h["seq"]), h["field"], h["target"], h["departments"], h["value"] or "—", h["status"]]
                for h in headline_rows(a)]  # fmt: skip
        # (领域 holds four characters on a line, 公共建筑, with narrow cell margins)
        fmt.table(doc, header, rows, [13, 21, 38, 30, 32, 22], align=["center", "center", "left", "left", "left", "center"],
                  status_col=5, caption=caption, cell_margin_mm=1.0)  # fmt: skip
        return
    # 较上期: a short phrase, or for an indicator each unit is judged on the number of units that
    # rose, fell and held, one to a line (each unit's change is in the note under the table). The
    # columns give up a little to it, with narrow cell margins: 6 characters a line in 较上期,
    # 状态 (序时推进) and 领域 (two characters) on one line.
    header = ["序号", "领域", "目标", "责任部门", "完成情况", "状态", "较上期"]
    rows = [[str(h["seq"]), h["field"], h["target"], h["departments"], h["value"] or "—", h["status"],
             h["change_short"].replace("，", "\n") if h["change_each"] else h["change_short"]]
            for h in headline_rows(a)]  # fmt: skip
    # (完成情况 keeps a figure and its unit on one line: 6.45万平方米; the 目标 text wraps anyway)
    fmt.table(doc, header, rows, [11, 12, 28, 25, 33, 20, 27], align=["center", "center", "left", "left", "left", "center", "center"],
              status_col=5, caption=caption, cell_margin_mm=1.0)  # fmt: skip


def _annex_table(doc, a: Assessment, caption: str = "") -> None:
    names = {r.id: r.name for r in a.plan.respondents}
    header = ["序号", "单位名称", "目标下降率（%）", "上年同期万元产值能耗（吨标准煤/万元）",
              "本期万元产值能耗（吨标准煤/万元）", "下降率（%）", "状态"]  # fmt: skip
    rows = []
    for u in a.annex:
        rate = "—" if u.rate is None else f"{u.rate:.{rate_places(u)}f}"
        rows.append([str(u.unit.seq), names[u.unit.respondent], format_number(u.unit.target),
                     _intensity(u.intensity_base), _intensity(u.intensity_current), rate, u.status.label])  # fmt: skip
    # the two 万元产值能耗 columns hold a figure of up to nine characters (0.0889607) on one line: a
    # figure broken across two lines reads as another figure (0.088960 / 7)
    fmt.table(doc, header, rows, [11, 28, 18, 30, 30, 16, 22], align=["center", "left", "center", "right", "right", "right", "center"],
              status_col=6, caption=caption, cell_margin_mm=1.0)  # fmt: skip


def _intensity(value: float | None) -> str:
    """Six significant figures: enough that the 下降率 beside it, computed from the unrounded
    figures, comes out the same when a reader recomputes it from these (four decimals of 0.04
    could move it by 0.2 percentage points)."""
    return "—" if value is None else f"{value:.{intensity_places(value)}f}"


# Past this many respondents (city-wide, or down to enterprises) the report's 报送情况 table counts
# them by kind: a unit-by-unit table would run to hundreds of pages. 汇总表.xlsx lists every unit,
# and the 问题清单's 催报名单 every unit that has not reported.
SUBMISSION_ROWS_LIMIT = 100


def _submission_table(doc, a: Assessment, caption: str = "") -> None:
    if len(a.respondents) > SUBMISSION_ROWS_LIMIT:
        _submission_counts_table(doc, a, caption)
        return
    header = ["序号", "单位", "类别", "报送情况", "填报日期", "错误", "提醒"]
    found = findings_by_respondent(a)
    rows = []
    for n, c in enumerate(a.respondents, 1):
        sub = c.submission
        day = f"{sub.filled_on.month}月{sub.filled_on.day}日" if sub and sub.filled_on else "—"
        state = c.state + ("（逾期）" if c.on_time is False else "")
        errors, warnings = found.get(c.respondent.id, (0, 0))
        rows.append([str(n), c.respondent.name, c.respondent.kind.label, state, day, str(errors), str(warnings)])
    if "" in found:
        rows.append(["", UNKNOWN_FILES, "—", "无法采用", "—", *map(str, found[""])])
    rows.append(["", "合计", "", "", "", *(str(sum(c[i] for c in found.values())) for i in (0, 1))])
    # 单位 and 类别 hold eight characters on one line (区府办（机管局）, 管理局（管委会）): narrow cell
    # margins leave the room, so every row is one line high
    fmt.table(doc, header, rows, [11, 37, 37, 25, 22, 12, 12], align=["center", "left", "center", "center", "center", "center", "center"],
              caption=caption, cell_margin_mm=1.0)  # fmt: skip
    note = _counted_note(a, found)
    if note:
        fmt.para(doc, "注：" + note)


# Findings on files no respondent could be told for: their own row of 表3, so that its total is
# every finding (as 附件2's text and 表4 count them), named as in 问题清单's 按单位统计
UNKNOWN_FILES = PROBLEM_LIST_UNKNOWN_FILES


def _counted_note(a: Assessment, found: dict[str, tuple[int, int]]) -> str:
    """What 表3's 错误 and 提醒 count where that is not simply the problems of the file in use
    (those 报送情况 is judged by); "" where it is."""
    parts = []
    if any(found.get(c.respondent.id, (0, 0)) != (c.errors, c.warnings) for c in a.respondents):
        parts.append("错误、提醒按问题所属单位统计，含该单位未采用的文件（如重复报送的较早一份）中的问题，“报送情况”按采用的文件判断")
    if "" in found:  # (as 问题清单's 按单位统计 says it, naming the unit a file's name suggests)
        parts.append(unknown_files_note(a.plan, unknown_files(a)))
    return "；".join(parts) + "。逐条问题见问题清单。" if parts else ""


def _submission_counts_table(doc, a: Assessment, caption: str = "") -> None:
    """报送情况 by kind of respondent (委办局, 管理局（管委会）, 镇, 街道), with a total row."""
    header = ["类别", "应报送", "已报送", "需退回修改", "未报送", "逾期", "错误", "提醒"]
    groups: dict[str, list] = {}
    for c in a.respondents:
        groups.setdefault(c.respondent.kind.label, []).append(c)

    found = findings_by_respondent(a)  # errors and warnings by the respondent a finding names

    def counts(cards) -> list[str]:
        return [str(n) for n in (len(cards), sum(c.submission is not None for c in cards),
                                 sum(c.state == "需退回修改" for c in cards), sum(c.submission is None for c in cards),
                                 sum(c.on_time is False for c in cards),
                                 sum(found.get(c.respondent.id, (0, 0))[0] for c in cards),
                                 sum(found.get(c.respondent.id, (0, 0))[1] for c in cards))]  # fmt: skip

    rows = [[label, *counts(cards)] for label, cards in groups.items()]
    if "" in found:
        rows.append([UNKNOWN_FILES, *["—"] * 5, *map(str, found[""])])
    rows.append(["合计", *counts(a.respondents)[:-2], *(str(sum(c[i] for c in found.values())) for i in (0, 1))])
    # (narrow cell margins keep 管理局（管委会）, the heads and six-digit counts on one line)
    fmt.table(doc, header, rows, [36, 18, 18, 24, 18, 14, 14, 14], align=["left", *["center"] * 7],
              caption=caption, cell_margin_mm=1.0)  # fmt: skip
    fmt.para(doc, f"注：应报送单位共{len(a.respondents)}个，本表按类别统计；各单位的报送情况见汇总表“报送情况”工作表，"
                  "未报送单位见问题清单“催报名单”工作表。" + _counted_note(a, found))  # fmt: skip


def _findings_table(doc, a: Assessment, caption: str = "") -> None:
    """Findings by kind, named in words (the codes are for the 问题清单 and docs/findings.md)."""
    rows = [[str(n), f["title"], f["severity"], str(f["count"])] for n, f in enumerate(findings_by_code(a), 1)]
    if not rows:
        fmt.para(doc, "数据校验未发现问题。")
        return
    fmt.table(doc, ["序号", "问题类别", "级别", "条数"], rows, [13, 99, 22, 22], align=["center", "left", "center", "center"],
              caption=caption)  # fmt: skip


# -- charts ------------------------------------------------------------------------------------


def _chart_png(name: str, a: Assessment, prepared: PreparedCharts | None) -> bytes | None:
    fn, args = chart_job(a, name)
    return prepared.png(name, fn, args) if prepared is not None else fn(*args)


def _task_chart(doc, a: Assessment, prepared: PreparedCharts | None = None) -> None:
    _picture(doc, _chart_png("任务状态", a, prepared), "图1  重点任务推进状态")


def _annex_chart(doc, a: Assessment, prepared: PreparedCharts | None = None) -> None:
    _picture(doc, _chart_png("附件下降率", a, prepared), "图2  各管理局（管委会）、镇工业万元产值能耗下降率")


def _picture(doc, png: bytes | None, caption: str) -> None:
    if png is None:
        fmt.para(doc, f"（{charts.NO_FONT_TEXT}。）")
        return
    fmt.picture(doc, png, 150, caption)


__all__ = ["PARTS", "ReportTemplateError", "default_templates_dir", "number_text", "render_markup",
           "render_report", "report_filename"]  # fmt: skip

