"""The Word report: templates/*.md.j2 → lines of light markup → an official-format .docx.

Wording lives in the jinja2 templates (one per part of the report, editable without code);
tables and charts are laid out here from the assessment, because their columns are data,
not prose. The markup, one directive per line (a plain line is a body paragraph):

    @标题 文字        the document title           # / ## / ###  一、 / （一） / 1. headings
    @表格 名称        a table (总体目标, 附件1, 报送情况, 问题统计)
    @图表 名称        a chart (任务状态, 附件下降率)
    @附件 N 标题      a new page with 附件N and its title
    @附件说明 名称｜名称   "附件：1. …" with further names aligned under the first
    @落款             issuer and date                @分页  a page break
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..assess import Assessment, Status
from ..errors import PdreportError
from ..plan.model import format_number
from . import charts
from . import docx_format as fmt
from .context import build_context, number_text

PARTS = ("01_title.md.j2", "02_overall.md.j2", "03_tasks.md.j2", "04_problems.md.j2",
         "05_annex1.md.j2", "06_annex2.md.j2")  # fmt: skip
HEADING_MARKS = {"###": 3, "##": 2, "#": 1}


class ReportTemplateError(PdreportError):
    """A report template is missing, does not parse, or uses a variable that does not exist."""


def default_templates_dir() -> Path:
    """``templates/`` at the top of the project (next to the package in a checkout)."""
    return Path(__file__).resolve().parents[2] / "templates"


def report_filename(a: Assessment) -> str:
    return build_context(a)["report_title"] + ".docx"


def render_markup(a: Assessment, templates_dir: Path | None = None,
                  report_date: dt.date | None = None) -> list[tuple[str, str]]:  # fmt: skip
    """(template name, rendered text) for every part, in order."""
    folder = Path(templates_dir or default_templates_dir())
    if not folder.is_dir():
        raise ReportTemplateError(f"找不到报告模板文件夹：{folder}（可用 --templates 指定）")
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(folder), encoding="utf-8"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )  # fmt: skip
    context = build_context(a, report_date)
    out = []
    for name in PARTS:
        try:
            out.append((name, env.get_template(name).render(**context)))
        except jinja2.TemplateNotFound:
            raise ReportTemplateError(f"报告模板缺少文件：{folder / name}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise ReportTemplateError(f"报告模板 {name} 第 {exc.lineno} 行语法错误：{exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise ReportTemplateError(f"报告模板 {name} 使用了不存在的变量（{exc.message}）；"
                                      "可用变量见 templates/README.md") from None  # fmt: skip
        except (jinja2.TemplateError, TypeError, ValueError, KeyError) as exc:
            raise ReportTemplateError(f"报告模板 {name} 无法生成：{exc}") from None
    return out


def render_report(a: Assessment, templates_dir: Path | None = None, report_date: dt.date | None = None,
                  with_charts: bool = True) -> bytes:  # fmt: skip
    context = build_context(a, report_date)
    created = dt.datetime.combine(report_date or a.period.deadline, dt.time(9, 0))
    doc = fmt.new_document(context["report_title"], created)
    tables: dict[str, Callable] = {"总体目标": _headline_table, "附件1": _annex_table,
                                   "报送情况": _submission_table, "问题统计": _findings_table}  # fmt: skip
    figures: dict[str, Callable] = {"任务状态": _task_chart, "附件下降率": _annex_chart}
    for name, text in render_markup(a, templates_dir, report_date):
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
        fmt.title(doc, arg)
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
        fmt.attachment(doc, int(number), title.strip())
    elif word == "表格" and arg in tables:
        tables[arg](doc, a)
    elif word == "图表" and arg in figures:
        if with_charts:
            figures[arg](doc, a)
    else:
        known = "、".join([f"@表格 {t}" for t in tables] + [f"@图表 {f}" for f in figures])
        raise ReportTemplateError(f"{where}：无法识别“{line[:30]}”。可用：@标题 @落款 @分页 @附件 @附件说明 {known}")


# -- tables ------------------------------------------------------------------------------------


def _headline_table(doc, a: Assessment) -> None:
    ctx = build_context(a)
    prev = a.previous is not None
    header = ["序号", "领域", "目标", "责任部门", "完成情况", "状态"] + (["较上期"] if prev else [])
    rows = [[str(h["seq"]), h["field"], h["target"], h["departments"], h["value"], h["status"]]
            + ([h["change"]] if prev else []) for h in ctx["headline"]]  # fmt: skip
    widths = [10, 17, 45, 30, 32, 22] if not prev else [9, 15, 38, 26, 28, 21, 19]
    align = ["center", "center", "left", "left", "left", "center", "center"][: len(header)]
    fmt.table(doc, header, rows, widths, align=align, status_col=5)


def _annex_table(doc, a: Assessment) -> None:
    names = {r.id: r.name for r in a.plan.respondents}
    header = ["序号", "单位名称", "目标下降率（%）", "上年同期万元产值能耗", "本期万元产值能耗", "下降率（%）", "状态"]
    rows = []
    for u in a.annex:
        rate = "—" if u.rate is None else f"{u.rate:.2f}"
        rows.append([str(u.unit.seq), names[u.unit.respondent], format_number(u.unit.target),
                     _intensity(u.intensity_base), _intensity(u.intensity_current), rate, u.status.label])  # fmt: skip
    fmt.table(doc, header, rows, [10, 30, 20, 26, 26, 18, 22], align=["center", "left", "center", "right", "right", "right", "center"],
              status_col=6)  # fmt: skip


def _intensity(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _submission_table(doc, a: Assessment) -> None:
    header = ["序号", "单位", "类别", "报送情况", "填报日期", "错误", "提醒"]
    rows = []
    for n, c in enumerate(a.respondents, 1):
        sub = c.submission
        day = f"{sub.filled_on.month}月{sub.filled_on.day}日" if sub and sub.filled_on else "—"
        state = c.state + ("（逾期）" if c.on_time is False else "")
        rows.append([str(n), c.respondent.name, c.respondent.kind.label, state, day, str(c.errors), str(c.warnings)])
    fmt.table(doc, header, rows, [10, 38, 28, 28, 22, 15, 15], align=["center", "left", "center", "center", "center", "center", "center"])


def _findings_table(doc, a: Assessment) -> None:
    ctx = build_context(a)
    rows = [[f["code"], f["title"], f["severity"], str(f["count"])] for f in ctx["findings_by_code"]]
    if not rows:
        fmt.para(doc, "数据校验未发现问题。")
        return
    fmt.table(doc, ["代码", "问题", "级别", "条数"], rows, [22, 90, 22, 22], align=["center", "left", "center", "center"])


# -- charts ------------------------------------------------------------------------------------


def _task_chart(doc, a: Assessment) -> None:
    counts = {s.label: n for s, n in a.status_counts(a.tasks).items() if s is not Status.NOT_ASSESSED}
    png = charts.status_overview(counts, f"重点任务推进状态（{a.period.label}）")
    _picture(doc, png, "图1  重点任务推进状态")


def _annex_chart(doc, a: Assessment) -> None:
    names = {r.id: r.name for r in a.plan.respondents}
    units = [u for u in a.annex if u.unit.assessed]
    png = charts.bar_vs_target([names[u.unit.respondent] for u in units], [u.rate for u in units],
                               [u.unit.target for u in units], "工业万元产值能耗下降率与目标", "%")  # fmt: skip
    _picture(doc, png, "图2  各管理局（管委会）、镇工业万元产值能耗下降率")


def _picture(doc, png: bytes | None, caption: str) -> None:
    if png is None:
        fmt.para(doc, f"（{charts.NO_FONT_TEXT}。）")
        return
    fmt.picture(doc, png, 150, caption)


__all__ = ["PARTS", "ReportTemplateError", "default_templates_dir", "number_text", "render_markup",
           "render_report", "report_filename"]  # fmt: skip
