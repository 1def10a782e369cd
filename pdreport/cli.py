"""Command line: parse arguments, call the library, print, write. Nothing else lives here."""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .errors import PdreportError, UsageError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# click's own words (section titles, usage errors), in the users' language. click looks each one
# up through gettext at call time, so replacing its ``_`` is enough; unknown strings stay as is.
_CLICK_ZH = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name!r} 不需要值。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，不是文件。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是文件夹。",
    "directory": "文件夹",
    "file": "文件",
    "path": "路径",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选范围内：{choices}。",
    "{value!r} is not {choice}.": "{value!r} 不是可选值 {choice}。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Error: {message}": "错误：{message}",
    "Aborted!": "已取消。",
    "Did you mean {possibility}?": "是否应为 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否应为其中之一：{possibilities}？）",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面需要写一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 后面需要写 {nargs} 个值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 没有读取权限。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 没有写入权限。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不能执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "text": "文字",
}


def _speak_chinese() -> None:
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types

    def zh(text: str) -> str:
        return _CLICK_ZH.get(text, text)

    def nzh(singular: str, plural: str, n: int) -> str:
        return zh(singular if n == 1 else plural)

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
        if hasattr(module, "_"):
            module._ = zh
        if hasattr(module, "ngettext"):
            module.ngettext = nzh
    click.types.StringParamType.name = zh("text")  # ("--period TEXT" in every --help)


_speak_chinese()
PLAN_OPTION = click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="计划文件（YAML）；默认使用内置的浦东新区2024年计划。",
)


def _load(plan_file: Path | None):
    from .plan import load_plan

    return load_plan(plan_file)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="pdreport", message="pdreport %(version)s")
def cli() -> None:
    """pdreport：浦东新区碳达峰碳中和及节能重点工作填报、汇总与报告工具。

    \b
    一个报送期的流程：
      1. pdreport templates --period 2024H1 -o 填报表        生成各单位填报表和分发清单
      2. （把填报表发给各单位，收回后放进同一个文件夹，如 回收表/）
      3. pdreport consolidate 回收表 --period 2024H1 -o 汇总结果
         一键输出：汇总表、问题清单（含催报名单）、退回修改表、Word 报告
    \b
    常用命令：
      pdreport plan                      查看计划（通知的数据化内容）
      pdreport plan --check 新计划.yaml    检查计划文件
      pdreport check 某单位填报表.xlsx     报送前自查一份填报表
      pdreport demo-data -o 示例           生成示例回收表（演示用）
    """


FOLDER = click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
PERIOD = click.option("--period", "period_id", default=None,
                      help="报送期编号（如 2024H1；计划中的编号见 pdreport plan）；不指定时按表内标识判断。")
OUT = click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                   default=None, help="输出目录，默认为“FOLDER_汇总”。")
PREVIOUS = click.option("--previous", type=click.Path(path_type=Path), default=None,
                        help="上期输出目录（含 评估结果.json），用于列出较上期变化。")
OVERWRITE = click.option("--overwrite", is_flag=True,
                         help="输出目录中是另一报送期的汇总结果时，用本次的结果替换（默认不替换，以免覆盖上期结果）。")  # fmt: skip
TEMPLATES = click.option("--templates", "templates_dir", type=click.Path(file_okay=False, path_type=Path),
                         default=None, help="报告措辞模板文件夹，默认为项目的 templates/。")
class _DateType(click.ParamType):
    """A date as people write it: 2024-07-20, 2024/7/20, 2024.7.20 or 2024年7月20日."""

    name = "日期"
    _FORM = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*")

    def convert(self, value, param, ctx):
        import datetime as dt

        if isinstance(value, dt.date):
            return value
        m = self._FORM.fullmatch(str(value))
        try:
            if m is None:
                raise ValueError
            return dt.date(*map(int, m.groups()))
        except ValueError:
            self.fail(f"“{value}”不是有效的日期，请按 2024-07-20 的格式填写", param, ctx)


DATE = click.option("--date", "report_date", type=_DateType(), default=None, metavar="日期",
                    help="报告成文日期（如 2024-07-20），默认为本期报送截止日；有单位的填报日期晚于截止日时，默认为其中最晚的填报日期。")  # fmt: skip


def _resubmit_option(default_text: str):
    return click.option("--resubmit-by", "resubmit_by", type=_DateType(), default=None, metavar="日期",
                        help=f"退回修改表中写明的重新报送期限（如 2024-07-29），默认为{default_text}后 7 天。")  # fmt: skip


REPORT_RESUBMIT = click.option(
    "--resubmit-by", "resubmit_by", type=_DateType(), default=None, metavar="日期",
    help="报告中写明的重新报送期限（如 2024-07-29），应与退回修改表一致：默认为输出目录中 intake 已生成的"
         "退回修改表的期限，没有时为报告成文日期（--date）后 7 天。")  # fmt: skip


def _check_resubmit_by(plan, period_id, resubmit_by, report_date=None, dated: bool = False) -> None:
    """A --resubmit-by that cannot be right is said before the returns are read (when the period is
    given; otherwise once it is known). ``dated``: the copies go out with a report dated
    ``report_date`` (by default the deadline), which the deadline may not precede."""
    if resubmit_by is not None and period_id:
        from .feedback import resubmit_deadline

        period = plan.period(period_id)
        resubmit_deadline(period, (report_date or period.deadline) if dated else None, resubmit_by)


def _say_report_deadline(outputs, report_date) -> None:
    """The report's 重新报送期限 against the one the folder's 退回修改 copies give (from an earlier
    ``intake``): a --resubmit-by other than theirs, or theirs already past on the report's date,
    is said (the copies are not rewritten by ``report``)."""
    held = outputs.held
    due = held.resubmit_by if held is not None and not outputs.replacing else None
    if due is None or outputs.resubmit_by is None:
        return
    if outputs.resubmit_by != due:
        click.echo(f"提醒：报告写明的重新报送期限为 {outputs.resubmit_by:%Y-%m-%d}，输出文件夹中退回修改表写的是 "
                   f"{due:%Y-%m-%d}；要使两者一致，请用同一 --resubmit-by 重新运行 intake（或运行 consolidate）", err=True)  # fmt: skip
    elif report_date is not None and due < report_date:
        click.echo(f"提醒：沿用了输出文件夹中退回修改表的重新报送期限 {due:%Y-%m-%d}，早于报告成文日期 "
                   f"{report_date:%Y-%m-%d}；请用 --resubmit-by 指定新的期限，重新运行 intake 和 report（或运行 consolidate）", err=True)  # fmt: skip


def _check_report_date(period, report_date) -> None:
    """A --date before the period has even ended is most likely a typo: said (not refused)."""
    if report_date is not None and report_date < period.end:
        click.echo(f"提醒：报告成文日期 {report_date:%Y-%m-%d} 早于本报送期（{period.label}）的结束日 "
                   f"{period.end:%Y-%m-%d}，报告中的“截至”日期将在报送期结束之前；请检查 --date", err=True)  # fmt: skip


def _out_dir(folder: Path, out_dir: Path | None) -> Path:
    """-o, or "FOLDER_汇总" next to the input folder, named after the folder itself also when it
    is given as "." or ".." (回收表/ → 回收表_汇总/ beside it), never a hidden name. UsageError when
    the folder has no name to go by (the root of a disk)."""
    if out_dir is not None:
        return _check_out_name(out_dir)
    base = folder
    if folder.name in ("", ".", ".."):
        base = Path(os.path.abspath(folder))
    name = base.name.lstrip(".")
    if not name:
        raise UsageError(f"无法由“{folder}”得出默认的输出目录名，请用 -o 指定输出目录，如 -o 汇总结果")
    out = base.with_name(name + "_汇总")
    if base is not folder and not folder.is_absolute():  # said as the user would: ../回收表_汇总
        out = Path(os.path.relpath(out))
    long = _too_long(out)
    if long:
        raise UsageError(f"默认的输出目录名（填报表文件夹名加“_汇总”）{long}。请把填报表文件夹改用较短的名字，"
                         "或用 -o 指定较短的输出目录，如 -o 汇总结果")  # fmt: skip
    return out


def _check_out_name(out_dir: Path) -> Path:
    """UsageError when a name in ``out_dir`` (-o) is longer than the file system allows."""
    long = _too_long(out_dir)
    if long:
        raise UsageError(f"输出目录中的名字{long}。请用 -o 指定较短的输出目录，如 -o 汇总结果")
    return out_dir


def _too_long(path: Path) -> str:
    """What is wrong when a folder or file name in ``path`` is longer than the file system takes
    (255 bytes on Linux and macOS: 85 Chinese characters; 255 characters on Windows), else ""."""
    for part in Path(path).parts:
        shown = part if len(part) <= 40 else part[:20] + "……" + part[-12:]
        if os.name == "nt":
            if len(part) > 255:
                return f"“{shown}”过长：{len(part)} 个字符，最多允许 255 个字符"
            continue
        size, limit = len(os.fsencode(part)), _name_max(path)
        if size > limit:
            return f"“{shown}”过长：{size} 字节，文件系统最多允许 {limit} 字节（一个汉字占 3 字节）"
    return ""


def _name_max(path: Path) -> int:
    """The longest file name (bytes) the file system under ``path`` takes (255 where it cannot be told)."""
    here = Path(os.path.abspath(path))
    for folder in (here, *here.parents):
        try:
            if folder.is_dir():
                return os.pathconf(folder, "PC_NAME_MAX")
        except OSError:  # (this name is the one too long, say)
            continue
        except (ValueError, AttributeError):  # no pathconf here
            break
    return 255


def _progress_bar(plan, folder: Path, out_dir: Path):
    from .collect import scan

    if not folder.is_dir():
        raise UsageError(f"找不到文件夹：{folder}")
    total = len(scan(folder, (out_dir,)))
    return click.progressbar(length=total, label="读取填报表", file=sys.stderr, show_pos=True)


def _assess_and_write(plan_file, folder, period_id, out_dir, previous, overwrite, write, status: bool) -> None:
    """Read and assess the folder, then ``write(col, a, out_dir, outputs)`` under the output lock;
    print the summary (and the status counts) and what was written."""
    from .consolidate import assess_folder, writing

    plan = _load(plan_file)
    out_dir = _out_dir(folder, out_dir)
    with writing(out_dir, plan, period_id, overwrite=overwrite, inputs=folder) as outputs:
        with _progress_bar(plan, folder, out_dir) as bar:
            col, a = assess_folder(plan, folder, period_id, out_dir, previous, lambda _f: bar.update(1))
        if col.submissions:  # (nothing usable: no all-未报送 summary or report, as consolidate)
            write(col, a, out_dir, outputs)
    click.echo(_summary(col, hint=bool(col.submissions)))
    if not col.submissions:
        raise PdreportError(_nothing_usable(col, "各文件的问题请运行 pdreport intake 查看问题清单"))
    if status:
        click.echo(_status_line(a))
    _written(outputs)
    _say_not_updated(outputs)


def _written(outputs) -> None:
    click.echo("\n输出文件：")
    for label, path in outputs.files.items():
        click.echo(f"  {label}：{path}")
    if outputs.feedback:
        due = f"（重新报送期限 {outputs.resubmit_by:%Y-%m-%d}）" if outputs.resubmit_by else ""
        click.echo(f"  退回修改：{len(outputs.feedback)} 份，在 {outputs.feedback[0].parent}{due}")


def _say_not_updated(outputs) -> None:
    """After intake, assess or report: the outputs of an earlier run left as they were."""
    from .consolidate import not_updated

    stale = not_updated(outputs)
    if stale:
        shown = "、".join(p.name for p in stale[:3]) + (f" 等 {len(stale)} 项" if len(stale) > 3 else " ")
        click.echo(f"\n提醒：输出文件夹中的 {shown}是此前生成的，本次未更新，可能与本次的结果不一致；"
                   "需要全部更新时请运行 pdreport consolidate（同一输出文件夹）。")  # fmt: skip


@cli.command("plan", context_settings=CONTEXT)
@PLAN_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text：按通知结构列出提纲和数量；json：完整计划数据（键名稳定）。",
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="只检查该计划文件，列出所有问题（含行号）；无问题时退出码为 0。",
)
def plan_cmd(plan_file: Path | None, fmt: str, check_file: Path | None) -> None:
    """查看或检查计划文件。

    \b
    示例：
      pdreport plan
      pdreport plan --format json > plan.json
      pdreport plan --check 浦东新区2025年计划.yaml
    """
    from .plan.export import plan_counts, plan_outline, plan_to_dict

    if check_file is not None:
        plan = _load(check_file)
        c = plan_counts(plan)
        click.echo(
            f"计划文件检查通过：{check_file}\n"
            f"总体目标 {c['headline']} 项，重点任务 {c['tasks']} 项，数值指标 {c['indicators']} 项，"
            f"里程碑 {c['milestones']} 项，填报单位 {c['respondents']} 个，附件单位 {c['annex_units']} 个。"
        )
        return
    plan = _load(plan_file)
    if fmt == "json":
        click.echo(json.dumps(plan_to_dict(plan), ensure_ascii=False, indent=2))
    else:
        click.echo(plan_outline(plan))


@cli.command("templates", context_settings=CONTEXT)
@PLAN_OPTION
@click.option("--period", "period_id", required=True, help="报送期编号（如 2024H1；计划中的编号见 pdreport plan）。")
@click.option(
    "--only",
    "only",
    multiple=True,
    help="只生成这些单位（单位名称或“各街道”等集合名称，可多次使用，也可在后面连写多个名称）。",
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="输出目录（不存在时自动创建）。",
)
@click.option("--overwrite", is_flag=True, help="输出目录中已有同名文件时覆盖（默认不覆盖，以免覆盖已收回的填报表）。")
@click.argument("more_names", nargs=-1)
def templates_cmd(plan_file, period_id, only, out_dir, overwrite, more_names) -> None:
    """为每个填报单位生成本期填报表（.xlsx），并生成分发清单.xlsx。

    \b
    示例：
      pdreport templates --period 2024H1 -o 填报表
      pdreport templates --period 2024Q3 --only 区建交委 康桥镇 -o 填报表
      pdreport templates --period 2024H1 --only 各街道 -o 街道填报表
    """
    from .template import DISTRIBUTION_LIST, generate_templates

    plan = _load(plan_file)
    period = plan.period(period_id)
    names = list(only) + list(more_names)
    if more_names and not only:
        raise click.UsageError(f"多余的参数：{' '.join(more_names)}（单位名称请放在 --only 后面）")
    _check_out_name(out_dir)
    with _writes_to(out_dir):
        files = generate_templates(plan, period, out_dir, names or None, overwrite=overwrite)
    click.echo(f"已生成 {period.label} 填报表 {len(files)} 份，保存在：{out_dir}")
    click.echo(f"分发清单：{out_dir / DISTRIBUTION_LIST}")
    click.echo(f"报送截止：{period.deadline:%Y-%m-%d}。工作表保护密码（仅供汇总人员）：pdreport")
    if not plan.contact.details:
        click.echo(_no_contact_reminder(plan, plan_file), err=True)
    presumed = _presumed_groups_reminder(plan, {f.respondent.id for f in files})
    if presumed:
        click.echo(presumed, err=True)


def _presumed_groups_reminder(plan, generated: set[str]) -> str:
    """The lists the notice leaves to someone else ("相关镇": no names given) and the plan fills in
    with a note saying so: who got those forms, to be confirmed before they go out."""
    lines = []
    for g in plan.groups:
        members = [plan.respondent(m).name for m in g.members]
        uses = plan.group_uses(g)
        if not g.note or not uses or not generated & set(g.members):
            continue
        shown = "、".join(members) if len(members) <= 8 else f"{'、'.join(members[:3])}等 {len(members)} 个单位"
        lines.append(f"  {g.name}（{'、'.join(uses)}）：{shown}")
    if not lines:
        return ""
    return ("提醒：通知没有列出以下名单，计划中的名单是推定的，相关单位据此收到了这些任务，下发前请与牵头部门核对"
            "（调整时修改计划文件中 groups 的 members，再重新生成填报表）：\n" + "\n".join(lines))


def _no_contact_reminder(plan, plan_file: Path | None) -> str:
    """What to do when the plan gives no contact person, phone or e-mail (the notice gives none, so
    none is made up): the forms only say where to send them."""
    from .plan.load import default_plan_path

    where = (f"计划文件 {plan_file}" if plan_file is not None
             else f"计划文件（内置计划请先复制 {default_plan_path()}，改好后用 --plan 指定）")  # fmt: skip
    sent = f"填好后{plan.contact.send_to()}".rstrip("。") if plan.contact.send_to() else "填好后按报送通知的要求报送"
    return (f"提醒：计划中没有联系人、电话和邮箱，填报说明只写了“{sent}”，退回修改表的说明页同样没有。"
            f"如需写明，请在{where}中 plan 下的 contact 里填写 person（联系人）、phone（电话）、email（邮箱），"
            "再重新生成填报表（输出到同一目录时加 --overwrite）。")  # fmt: skip


def _summary(col, hint: bool = True) -> str:
    """The counts; a line on output folders not read, and (``hint``) on a --period that seems wrong."""
    from .collect import skipped_message

    c = col.counts
    lines = [
        "",
        f"报送期：{col.period.label}（截止 {col.period.deadline:%Y-%m-%d}）",
        f"  收到文件      {c['received']:>4}",
        f"  采用          {c['accepted']:>4}   （其中有错误需退回 {c['with_errors']}）",
        f"  无法采用      {c['rejected']:>4}" + (f"   （其中空表 {c['blank']}，未填写任何内容）" if c["blank"] else ""),
        f"  重复报送      {c['superseded']:>4}",
        *([f"  已由更正稿替换{c['replaced']:>4}   （单位按退回修改表更正后重新报送，不算重复）"]
          if c["replaced"] else []),
        *([f"  其他报送期    {c['other_period']:>4}   （单位本期已另有采用的填报表，不算问题）"]
          if c["other_period"] else []),
        *([f"  空表          {c['blank_beside']:>4}   （未填写，单位本期已另有采用的填报表，不算问题）"]
          if c["blank_beside"] else []),
        *([f"  分发清单      {c['listing']:>4}   （生成填报表时的分发清单，不是填报表，未读取）"] if c["listing"] else []),
        f"  未报送单位    {c['missing']:>4} / {c['respondents']}",
        f"  问题          错误 {sum(f.is_error for f in col.findings)} 条，"
        f"提醒 {sum(not f.is_error for f in col.findings)} 条",
    ]
    if col.skipped:
        lines.append(f"  {skipped_message(col.skipped)}")
    other = _other_text(col) if hint else None
    if other is not None:
        lines.append(f"  提醒：{other}")
    return "\n".join(lines)


def _other_text(col) -> str | None:
    """What most unusable files being another period's or another plan's returns, or blank
    templates, suggests."""
    blank = col.mostly_blank()
    if blank is not None:
        return (f"{_which(col, blank)}是未填写任何内容的空白填报表。是否选错了文件夹？"
                "汇总时应选择回收填报表的文件夹，而不是生成填报表（templates）的输出文件夹")  # fmt: skip
    other = col.other_period()
    if other is not None:
        return _other_period_text(col, *other)
    plan = col.other_plan()
    if plan is not None:
        plan_id, n = plan
        return (f"{_which(col, n)}是按计划“{plan_id}”生成的填报表，不是本次所用的计划“{col.plan.id}”的；"
                f"汇总这些填报表请用 --plan 指定计划“{plan_id}”的文件")  # fmt: skip
    return None


def _other_period_text(col, period, n: int) -> str:
    return f"{_which(col, n)}是{period.label}的填报表，不是{col.period.label}的；--period 是否应为 {period.id}？"


def _which(col, n: int) -> str:
    return "这些文件" if n == len(col.outcomes) else f"收到的文件中有 {n} 份"


def _nothing_usable(col, problems: str = "各文件的问题见问题清单", not_made: str = "未生成汇总表和报告") -> str:
    """Why no return could be used (so ``not_made`` was not made), and what to do (``problems``:
    where to find the files' problems)."""
    from .collect import no_files_message

    if not col.outcomes:
        return no_files_message(col.folder, col.skipped, explain=False) + (f"。{not_made}" if not_made else "")
    lead = f"没有可采用的填报表，{not_made}" if not_made else "没有可采用的填报表"
    other = _other_text(col)
    if other is not None:
        return f"{lead}：{other}"
    return f"{lead}；{problems}。"


@cli.command("intake", context_settings=CONTEXT)
@PLAN_OPTION
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--period", "period_id", default=None, help="报送期编号；不指定时按文件中的标识判断。")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="输出目录，默认为“FOLDER_汇总”。")  # fmt: skip
@_resubmit_option("本期报送截止日（有单位的填报日期更晚时为最晚的填报日期）")
@OVERWRITE
def intake_cmd(plan_file, folder: Path, period_id, out_dir, resubmit_by, overwrite) -> None:
    """读取文件夹中所有回收的填报表，校验并输出问题清单、退回修改表和数据明细。

    \b
    输出：
      问题清单.xlsx       每个问题一行（文件、工作表、单元格、说明、处理建议），含催报名单
      退回修改/           有错误的单位各一份标注了问题单元格的副本
      数据明细.csv/.xlsx   所有采用的数据，一行一项
    \b
    退出码：0 表示输出已全部生成（发现的问题写在问题清单中，不算失败）；
            2 表示没有任何可采用的填报表（问题清单照常生成）、参数有误，或输出目录不能使用；
            3 表示输出无法写入（之前的输出保持原样）。
    退回修改表写明重新报送期限：默认为本期报送截止日后 7 天，可用 --resubmit-by 指定。
    示例：
      pdreport intake 回收表 --period 2024H1 -o 汇总结果
      pdreport intake 回收表 --period 2024H1 -o 汇总结果 --resubmit-by 2024-07-29
    """
    from .collect import collect
    from .consolidate import write_intake_outputs, writing

    plan = _load(plan_file)
    _check_resubmit_by(plan, period_id, resubmit_by)
    out_dir = _out_dir(folder, out_dir)
    with writing(out_dir, plan, period_id, overwrite=overwrite, inputs=folder) as outputs:
        with _progress_bar(plan, folder, out_dir) as bar:
            col = collect(plan, folder, period_id, exclude=(out_dir,), progress=lambda _f: bar.update(1))
        write_intake_outputs(col, out_dir, outputs, resubmit_by=resubmit_by)
    click.echo(_summary(col, hint=bool(col.submissions)))  # (else said once, in the error below)
    _written(outputs)
    _say_not_updated(outputs)
    if not col.submissions:  # (as consolidate: the problem list is written, and the run says why)
        raise PdreportError(_nothing_usable(col, not_made=""))


@cli.command("check", context_settings=CONTEXT)
@PLAN_OPTION
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--period", "period_id", default=None, help="报送期编号；不指定时按表内标识。")
def check_cmd(plan_file, file: Path, period_id) -> None:
    """检查一份填报表（报送前自查）。退出码：0 无问题，1 只有提醒，2 有错误。

    \b
    示例：
      pdreport check 2024年上半年_区建交委_碳达峰碳中和及节能工作进展填报表.xlsx
    """
    from .collect import check_one

    plan = _load(plan_file)
    sub, findings = check_one(plan, file, period_id)
    for f in findings:
        click.echo(f.render())
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    if sub is not None and not sub.blank:
        name = plan.respondent(sub.respondent).name
        period = plan.period(sub.period)
        click.echo(f"\n{name}：{period.label}填报表（报送截止 {period.deadline.isoformat()}），"
                   f"数值 {len(sub.figures)} 项，里程碑 {len(sub.milestones)} 项，重点任务 {len(sub.tasks)} 项已读取。")  # fmt: skip
        due = None if period_id else _due_when_filled(plan, sub.filled_on)
        if due is not None and due.end > period.end:  # filled in when a later period was due
            warnings += 1
            click.echo(f"提醒：填报日期为 {sub.filled_on.isoformat()}，这时应报送的是{due.label}的填报表"
                       f"（截止 {due.deadline.isoformat()}），本表是{period.label}的。如果用了上一期的表，"
                       f"请使用{due.label}下发的填报表重新填写；{period.label}的表不会被{due.label}汇总采用。")  # fmt: skip
    verdict = "请修改后再报送。" if errors else "请逐条核实以上提醒，确认无误或改正后可以报送。" if warnings else "可以报送。"
    click.echo(f"检查结果：错误 {errors} 条，提醒 {warnings} 条。{verdict}")
    sys.exit(2 if errors else 1 if warnings else 0)


def _due_when_filled(plan, filled_on):
    """The period being reported when a form was filled in on ``filled_on``: the last one ended
    before that day (a period is reported after it ends); None without a date or before any."""
    if filled_on is None:
        return None
    ended = [p for p in plan.periods if p.end < filled_on]
    return max(ended, key=lambda p: p.end) if ended else None


@cli.command("assess", context_settings=CONTEXT)
@PLAN_OPTION
@FOLDER
@PERIOD
@OUT
@PREVIOUS
@OVERWRITE
def assess_cmd(plan_file, folder: Path, period_id, out_dir, previous, overwrite) -> None:
    """对照计划的年度目标评估各项指标和任务，输出 汇总表.xlsx 和 评估结果.json。

    \b
    示例：
      pdreport assess 回收表 --period 2024H1 -o 汇总结果
      pdreport assess 回收表 --period 2024Q3 -o 三季度 --previous 上半年
    """
    from .consolidate import write_assessment_outputs

    _assess_and_write(plan_file, folder, period_id, out_dir, previous, overwrite, write_assessment_outputs,
                      status=True)  # fmt: skip


@cli.command("report", context_settings=CONTEXT)
@PLAN_OPTION
@FOLDER
@PERIOD
@OUT
@PREVIOUS
@TEMPLATES
@DATE
@REPORT_RESUBMIT
@OVERWRITE
def report_cmd(plan_file, folder: Path, period_id, out_dir, previous, templates_dir, report_date,
               resubmit_by, overwrite) -> None:  # fmt: skip
    """生成 Word 报告《……推进情况（报送期）》（公文格式）。

    \b
    报告措辞来自 templates/ 中的模板文件，可直接修改（见 templates/README.md）。
    示例：
      pdreport report 回收表 --period 2024H1 -o 汇总结果
      pdreport report 回收表 --period 2024H1 -o 汇总结果 --templates 我的模板 --date 2024-07-20

    报告中写明的重新报送期限与退回修改表一致：在 intake 的输出目录中运行时沿用其退回修改表的期限，
    也可用 --resubmit-by 指定（与 intake 的 --resubmit-by 相同）。
    """
    from .consolidate import write_report
    from .feedback import resubmit_deadline
    from .report.render import check_templates

    check_templates(templates_dir)  # before the returns are read
    if period_id:
        plan = _load(plan_file)
        _check_report_date(plan.period(period_id), report_date)
        _check_resubmit_by(plan, period_id, resubmit_by, report_date, dated=True)

    def write(_col, a, out, outputs):
        if not period_id:
            _check_report_date(a.period, report_date)
        if resubmit_by is not None:
            outputs.resubmit_by = resubmit_deadline(a.period, report_date or a.period.deadline, resubmit_by)
        write_report(a, out, outputs, templates_dir, report_date)
        _say_report_deadline(outputs, report_date)

    _assess_and_write(plan_file, folder, period_id, out_dir, previous, overwrite, write, status=False)


@cli.command("consolidate", context_settings=CONTEXT)
@PLAN_OPTION
@FOLDER
@PERIOD
@OUT
@PREVIOUS
@TEMPLATES
@DATE
@_resubmit_option("报告成文日期（--date）")
@OVERWRITE
def consolidate_cmd(plan_file, folder: Path, period_id, out_dir, previous, templates_dir, report_date,
                    resubmit_by, overwrite) -> None:  # fmt: skip
    """一键汇总：读取、校验、评估，输出汇总表、问题清单（含催报名单）、退回修改表和 Word 报告。

    \b
    退出码：0 表示输出已全部生成（发现的问题写在问题清单中，不算失败）；
            2 表示没有任何可采用的填报表、参数有误、输出目录中是另一报送期的结果（加 --overwrite 替换）
              或有不是 pdreport 输出的表格文件，或另一个运行正在使用同一输出目录；
            3 表示输出无法写入（之前的输出保持原样）。
    退回修改表写明重新报送期限：默认为报告成文日期（--date，默认为本期报送截止日）后 7 天，
    可用 --resubmit-by 指定。
    示例：
      pdreport consolidate sample_workbooks --period 2024H1 -o 汇总结果
      pdreport consolidate 回收表 --period 2024H1 -o 汇总结果 --date 2024-07-20 --resubmit-by 2024-07-29
      pdreport consolidate 三季度回收表 --period 2024Q3 -o 三季度汇总 --previous 汇总结果
    """
    from .report.prepared import PreparedCharts

    charts = PreparedCharts.start()  # first: the charts' child loads Pillow and finds the font meanwhile
    try:
        from .consolidate import consolidate

        plan = _load(plan_file)
        _check_resubmit_by(plan, period_id, resubmit_by, report_date, dated=True)
        if period_id:
            _check_report_date(plan.period(period_id), report_date)
        out_dir = _out_dir(folder, out_dir)
    except BaseException:  # (from here on consolidate closes it)
        if charts is not None:
            charts.close()
        raise
    with _progress_bar(plan, folder, out_dir) as bar:
        run = consolidate(plan, folder, out_dir, period_id, previous, templates_dir,
                          report_date, lambda _f: bar.update(1), charts=charts, resubmit_by=resubmit_by,
                          overwrite=overwrite)  # fmt: skip
    col = run.collection
    if not period_id:
        _check_report_date(col.period, report_date)
    click.echo(_summary(col, hint=run.assessment is not None))
    if run.assessment is not None:
        click.echo(_status_line(run.assessment))
    if col.missing:
        names = "、".join(plan.respondent(r).name for r in col.missing)
        click.echo(f"  催报名单：{names}")
    _written(run.outputs)
    if run.assessment is None:
        raise PdreportError(_nothing_usable(col))


@cli.command("demo-data", context_settings=CONTEXT)
@PLAN_OPTION
@click.option("--period", "period_id", default="2024H1", show_default=True, help="报送期编号。")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("sample_workbooks"), show_default=True, help="输出目录。")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="输出目录中已有文件时，删除其中的表格文件（.xlsx、.xls、.ods）和示例自带的"
              "区统计局_情况说明.docx 后重新生成；其他文件不动。")  # fmt: skip
def demo_data_cmd(plan_file, period_id, out_dir: Path, overwrite: bool) -> None:
    """生成示例回收表（用真实模板填写，含若干故意设置的常见问题，见 docs/sample-workbooks.md）。

    \b
    示例：
      pdreport demo-data -o 示例回收表
      pdreport demo-data -o sample_workbooks --overwrite     重新生成项目自带的示例
    """
    from .consolidate import SNAPSHOT_FILE, results_held
    from .demo import FolderNotEmpty, write_samples
    from .outputs import OUTPUT_MARKER, is_output_folder

    plan = _load(plan_file)
    if plan_file is not None and period_id not in {p.id for p in plan.periods} and (
        click.get_current_context().get_parameter_source("period_id") is click.core.ParameterSource.DEFAULT
    ):  # (another plan: the default period, which nobody typed, is not one of its periods)
        known = "、".join(p.id for p in plan.periods)
        raise UsageError(f"没有指定 --period，默认的报送期 {period_id} 不在计划 {plan_file} 中；"
                         f"请用 --period 指定，可选：{known}")  # fmt: skip
    _check_out_name(out_dir)
    if is_output_folder(out_dir) or results_held(out_dir) is not None:
        raise UsageError(f"{out_dir} 是 pdreport 的输出文件夹（其中有标记文件 {OUTPUT_MARKER} 或 {SNAPSHOT_FILE}），不是回收表文件夹："
                         "示例回收表写在这里会删掉其中的输出，汇总时也不会读取这里的文件，未作任何改动"
                         "（加 --overwrite 也一样）。请用 -o 指定一个新的或空的目录，如 -o 示例回收表")  # fmt: skip
    try:
        with _writes_to(out_dir):
            samples = write_samples(plan, plan.period(period_id), out_dir, overwrite=overwrite)
    except FolderNotEmpty as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"已生成示例回收表 {len(samples.files)} 份：{out_dir}")
    if samples.skipped:
        names = "、".join(dict.fromkeys(d.respondent for d in samples.skipped))
        click.echo(f"（docs/sample-workbooks.md 中{names}的示例问题未设置：本计划中没有这些单位，或没有这些问题所在的填报项）")


@contextmanager
def _writes_to(out_dir: Path) -> Iterator[None]:
    """An operating-system error while writing into ``out_dir`` → OutputError (exit code 3)."""
    from .errors import OutputError
    from .outputs import write_failure

    try:
        yield
    except OSError as exc:
        raise OutputError(f"无法写入输出目录 {out_dir}：{write_failure(exc)}。请换一个输出目录（-o）"
                          "或清理空间后重试。") from None  # fmt: skip


def _status_line(a) -> str:
    from .assess import Status

    def line(title, results):
        counts = a.status_counts(results)
        parts = [f"{s.label} {n}" for s, n in counts.items() if n and s is not Status.NOT_ASSESSED]
        return f"  {title}：" + "，".join(parts)

    return "\n".join(["", "评估结果：", line("总体目标", [h.result for h in a.headline]),
                      line("重点任务", a.tasks), line("附件单位", [u for u in a.annex if u.unit.assessed])])  # fmt: skip


for _command in (cli, *cli.commands.values()):  # ("用法：pdreport consolidate [选项] FOLDER")
    _command.options_metavar = "[选项]"


def main(argv: list[str] | None = None) -> None:
    """Entry point: a PdreportError becomes a Chinese message and an exit code, never a traceback."""
    try:
        cli.main(args=argv, prog_name="pdreport", standalone_mode=False)
    except PdreportError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        where = f"：{exc.filename}" if exc.filename else ""
        click.echo(f"错误：路径过长{where}。文件夹名和文件名最长 255 字节（约 85 个汉字），请改用较短的名字后重新运行。",
                   err=True)  # fmt: skip
        sys.exit(UsageError.exit_code)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
