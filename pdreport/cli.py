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
