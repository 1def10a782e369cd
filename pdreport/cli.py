"""Command line: parse arguments, call the library, print, write. Nothing else lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import PdreportError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
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
    常用命令：
      pdreport plan                      查看计划（通知的数据化内容）
      pdreport plan --check 新计划.yaml    检查计划文件
      pdreport templates --period 2024H1 -o 填报表   生成各单位填报表
    """


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
@click.option("--period", "period_id", required=True, help="报送期编号：2024Q1 / 2024H1 / 2024Q3 / 2024FY。")
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
@click.argument("more_names", nargs=-1)
def templates_cmd(plan_file, period_id, only, out_dir, more_names) -> None:
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
    files = generate_templates(plan, period, out_dir, names or None)
    click.echo(f"已生成 {period.label} 填报表 {len(files)} 份，保存在：{out_dir}")
    click.echo(f"分发清单：{out_dir / DISTRIBUTION_LIST}")
    click.echo(f"报送截止：{period.deadline:%Y-%m-%d}。工作表保护密码（仅供汇总人员）：pdreport")


def _summary(col) -> str:
    c = col.counts
    lines = [
        "",
        f"报送期：{col.period.label}（截止 {col.period.deadline:%Y-%m-%d}）",
        f"  收到文件      {c['received']:>4}",
        f"  采用          {c['accepted']:>4}   （其中有错误需退回 {c['with_errors']}）",
        f"  无法采用      {c['rejected']:>4}",
        f"  重复报送      {c['superseded']:>4}",
        f"  未报送单位    {c['missing']:>4} / {c['respondents']}",
        f"  问题          错误 {sum(f.is_error for f in col.findings)} 条，"
        f"提醒 {sum(not f.is_error for f in col.findings)} 条",
    ]
    return "\n".join(lines)


def _collect(plan, folder: Path, period_id, out_dir: Path | None):
    from .collect import collect, scan

    total = len(scan(folder, (out_dir,) if out_dir else ()))
    with click.progressbar(length=total, label="读取填报表", file=sys.stderr,
                           show_pos=True) as bar:  # fmt: skip
        col = collect(plan, folder, period_id, exclude=(out_dir,) if out_dir else (),
                      progress=lambda _f: bar.update(1))  # fmt: skip
    return col


@cli.command("intake", context_settings=CONTEXT)
@PLAN_OPTION
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--period", "period_id", default=None, help="报送期编号；不指定时按文件中的标识判断。")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="输出目录，默认为“FOLDER_汇总”。")  # fmt: skip
def intake_cmd(plan_file, folder: Path, period_id, out_dir) -> None:
    """读取文件夹中所有回收的填报表，校验并输出问题清单、退回修改表和数据明细。

    \b
    输出：
      问题清单.xlsx       每个问题一行（文件、工作表、单元格、说明、处理建议），含催报名单
      退回修改/           有错误的单位各一份标注了问题单元格的副本
      数据明细.csv/.xlsx   所有采用的数据，一行一项
    \b
    示例：
      pdreport intake 回收表 --period 2024H1 -o 汇总结果
    """
    from .datatable import DATA_CSV, DATA_XLSX, render_csv, render_xlsx
    from .feedback import write_feedback
    from .outputs import atomic_write_bytes
    from .problems import PROBLEM_LIST, render_problem_list

    plan = _load(plan_file)
    out_dir = out_dir or folder.with_name(folder.name + "_汇总")
    col = _collect(plan, folder, period_id, out_dir)
    atomic_write_bytes(out_dir / PROBLEM_LIST, render_problem_list(col))
    atomic_write_bytes(out_dir / DATA_CSV, render_csv(col))
    atomic_write_bytes(out_dir / DATA_XLSX, render_xlsx(col))
    copies = write_feedback(col, out_dir)
    click.echo(_summary(col))
    click.echo(f"\n问题清单：{out_dir / PROBLEM_LIST}")
    click.echo(f"数据明细：{out_dir / DATA_XLSX}")
    click.echo(f"退回修改：{len(copies)} 份，在 {out_dir / '退回修改'}")


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
    if sub is not None:
        name = plan.respondent(sub.respondent).name
        click.echo(f"\n{name}：数值 {len(sub.figures)} 项，里程碑 {len(sub.milestones)} 项，"
                   f"重点任务 {len(sub.tasks)} 项已读取。")  # fmt: skip
    click.echo(f"检查结果：错误 {errors} 条，提醒 {warnings} 条。" + ("可以报送。" if not errors else "请修改后再报送。"))
    sys.exit(2 if errors else 1 if warnings else 0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: a PdreportError becomes a Chinese message and an exit code, never a traceback."""
    try:
        cli.main(args=argv, prog_name="pdreport", standalone_mode=False)
    except PdreportError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
