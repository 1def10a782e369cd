"""Charts for the Word report, drawn with matplotlib into deterministic PNG bytes.

matplotlib is imported only inside the drawing functions, so importing this module is cheap.
Every function returns ``None`` when no CJK font is installed: a chart with boxes instead of
Chinese characters is worse than none, and the caller then writes "本机未安装中文字体，图表从略".

The status colours live here (``STATUS_COLOURS``) and ``docx_format`` imports them, so a status has
the same colour in the tables and in the charts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

# Okabe–Ito based, colour-blind safe; the darker orange keeps text legible in greyscale print.
# ``None`` means "no colour" (plain text in tables; a light grey bar in charts).
STATUS_COLOURS: dict[str, str | None] = {
    "已完成": "#009E73",
    "序时推进": "#0072B2",
    "滞后": "#D55E00",
    "未报送": "#7F7F7F",
    "数据有误": "#B86E00",
    "不考核": None,
}
#: Statuses whose table text is also bold (so they stand out without colour).
STATUS_BOLD: frozenset[str] = frozenset({"滞后"})
#: Bar colour used for a status without a colour of its own.
PLAIN_BAR_COLOUR = "#C8C8C8"

ACTUAL_COLOUR = "#0072B2"
TARGET_COLOUR = "#E69F00"
MISSING_TEXT = "未报送"
NO_FONT_TEXT = "本机未安装中文字体，图表从略"

# Families tried in order; the first one installed wins.
_PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "SimSun",
    "FangSong",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Serif CJK JP",
    "Noto Serif CJK TC",
    "AR PL UMing CN",
    "AR PL UKai CN",
)

_DPI = 200
_MM_PER_INCH = 25.4
_WIDTH_MM = 150.0


def _font_entry() -> tuple[str, str] | None:
    """(family, file) of the preferred installed CJK font, or None."""
    from matplotlib import font_manager

    entries = font_manager.fontManager.ttflist
    for family in _PREFERRED_FAMILIES:
        matches = sorted(
            (e for e in entries if e.name == family),
            # Regular weight first, then upright, then a stable order by file.
            key=lambda e: (abs(_weight(e.weight) - 400), e.style != "normal", e.fname),
        )
        if matches:
            return family, matches[0].fname
    return None


def _weight(weight: Any) -> int:
    if isinstance(weight, int):
        return weight
    names = {"normal": 400, "regular": 400, "book": 400, "medium": 500, "bold": 700}
    return names.get(str(weight).lower(), 400)


def find_cjk_font() -> str | None:
    """Path of an installed font file that has Chinese glyphs, or None if there is none."""
    entry = _font_entry()
    return entry[1] if entry else None


def _family_for(path: str) -> str:
    """The family to ask matplotlib for, given the font file ``find_cjk_font`` returned."""
    from matplotlib import font_manager

    entry = _font_entry()
    if entry and entry[1] == path:
        return entry[0]
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _rc(family: str) -> dict[str, Any]:
    """rcParams fixed for every chart, so output depends on the inputs only."""
    return {
        "font.family": [family],
        "font.sans-serif": [family, "DejaVu Sans"],
        "font.size": 9,
        "axes.unicode_minus": False,
        "axes.titlesize": 11,
        "axes.labelsize": 9,
        "xtick.labelsize": 8.5,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "figure.dpi": _DPI,
        "savefig.dpi": _DPI,
        "path.simplify": True,
        "svg.hashsalt": "pdreport",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    # what savefig does, less the dry run of the whole drawing it makes for the layout engine first
    # (the layout is done once, in this draw: the same pixels, ~15 % less time)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    buffer = io.BytesIO()
    imsave(buffer, canvas.buffer_rgba(), format="png", origin="upper", dpi=_DPI, metadata={"Software": None},
           pil_kwargs={"compress_level": 3})  # (level 6: twice the time for a file 9 % smaller)
    return buffer.getvalue()


def _inches(mm: float) -> float:
    return mm / _MM_PER_INCH


def _fmt(value: float, target: float | None = None) -> str:
    """One decimal, or as many as keep a value short of its target from reading as the target
    (3.49 against 3.5: "3.49", as 表2 shows it, not "3.5" beside a 滞后)."""
    from ..assess import places

    d = places(value, 1, target) if target is not None and value < target else 1
    return f"{value:.{d}f}"


def bar_vs_target(
    labels: Sequence[str],
    values: Sequence[float | None],
    targets: Sequence[float | None],
    title: str,
    unit: str,
    statuses: Sequence[str | None] | None = None,
    *,
    actual_label: str = "实际下降率",
    target_label: str = "目标",
) -> bytes | None:
    """Horizontal grouped bars, actual against target, one group per label, top to bottom.

    Sized to be inserted 150 mm wide (fonts then print at their nominal size). A missing actual
    value leaves a gap marked with why: its entry in ``statuses`` (数据有误, 不考核, 未报送 …, in
    that status's colour), or "未报送" when no status is given. A missing target simply has no
    target bar. Negative values (an increase where a decrease was due) extend to the left of the
    zero line.
    """
    if statuses is None:
        statuses = [None] * len(labels)
    if not (len(labels) == len(values) == len(targets) == len(statuses)):
        raise ValueError("labels, values, targets and statuses must have the same length")
    path = find_cjk_font()
    if path is None:
        return None
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    n = len(labels)
    height_mm = min(36.0 + 5.4 * max(n, 1), 190.0)
    with rc_context(_rc(_family_for(path))):
        fig = Figure(figsize=(_inches(_WIDTH_MM), _inches(height_mm)), layout="constrained")
        ax = fig.add_subplot()
        bar_h = 0.38
        ys = list(range(n))
        present = [v for v in list(values) + list(targets) if v is not None]
        span = max([abs(v) for v in present] + [1.0])
        low = min([0.0] + present)
        high = max([0.0] + present)
        offset = span * 0.01
        # (one barh call per series: a call per bar costs a Python container and its legend entry)
        shown = [(i, t) for i, t in enumerate(targets) if t is not None]
        if shown:
            ax.barh([i + bar_h / 2 for i, _t in shown], [t for _i, t in shown], height=bar_h,
                    color=TARGET_COLOUR, label=target_label)
        shown = [(i, v) for i, v in enumerate(values) if v is not None]
        if shown:
            ax.barh([i - bar_h / 2 for i, _v in shown], [v for _i, v in shown], height=bar_h,
                    color=ACTUAL_COLOUR, label=actual_label)
        for i, (value, status, target) in enumerate(zip(values, statuses, targets, strict=True)):
            if value is None:
                note = status or MISSING_TEXT
                ax.text(0, i - bar_h / 2, " " + note, va="center", ha="left",
                        color=STATUS_COLOURS.get(note) or "#333333", fontsize=8)
            else:
                ax.text(value + (offset if value >= 0 else -offset), i - bar_h / 2, _fmt(value, target),
                        va="center", ha="left" if value >= 0 else "right", fontsize=7.5,
                        color="#333333")
        # Room for the value labels and the notes ("未报送" …) on both sides.
        pad = span * 0.14
        ax.set_xlim(low - (pad if low < 0 else 0), high + pad)
        ax.set_yticks(ys, list(labels))
        ax.set_ylim(n - 0.5, -0.5)
        ax.axvline(0, color="#000000", linewidth=0.8)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel(unit)
        ax.set_title(title)
        handles, names = ax.get_legend_handles_labels()
        order = [names.index(x) for x in (actual_label, target_label) if x in names]
        if order:
            fig.legend([handles[k] for k in order], [names[k] for k in order],
                       loc="outside lower center", ncols=len(order), frameon=False)
        return _png(fig)


def status_overview(counts: Mapping[str, int], title: str) -> bytes | None:
    """Horizontal bars of how many tasks/indicators are in each status, status colours as in tables.

    Statuses are shown in the order of ``STATUS_COLOURS``, then any others in the order given.
    """
    path = find_cjk_font()
    if path is None:
        return None
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    names = [s for s in STATUS_COLOURS if s in counts] + [s for s in counts if s not in STATUS_COLOURS]
    numbers = [int(counts[s]) for s in names]
    colours = [STATUS_COLOURS.get(s) or PLAIN_BAR_COLOUR for s in names]
    height_mm = 30.0 + 9.0 * max(len(names), 1)
    with rc_context(_rc(_family_for(path))):
        fig = Figure(figsize=(_inches(_WIDTH_MM), _inches(height_mm)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(names)))
        ax.barh(ys, numbers, height=0.6, color=colours, edgecolor="#555555", linewidth=0.5)
        top = max(numbers + [1])
        for y, number in zip(ys, numbers, strict=True):
            ax.text(number + top * 0.01, y, str(number), va="center", ha="left", fontsize=9)
        ax.set_yticks(ys, names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlim(0, top * 1.12)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("数量（项）")
        ax.set_title(title)
        return _png(fig)
