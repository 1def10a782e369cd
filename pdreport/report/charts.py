"""Charts for the Word report, drawn with Pillow (``plot``) into deterministic PNG bytes.

Pillow is imported only inside the drawing functions, so importing this module is cheap.
Every function returns ``None`` when no CJK font is installed: a chart with boxes instead of
Chinese characters is worse than none, and the caller then writes "本机未安装中文字体，图表从略".

The status colours live here (``STATUS_COLOURS``) and ``docx_format`` imports them, so a status has
the same colour in the tables and in the charts.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .plot import Bars, HBarChart, Note, render

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

# Font files looked for, best first, with the family wanted from a collection (.ttc); the first
# found wins. By file name: opening every installed font to read its names would cost more than
# drawing the charts. The directories are those each system installs fonts into.
_FONT_FILES: tuple[tuple[str, str], ...] = (
    ("notosanscjk-regular.ttc", "Noto Sans CJK SC"),
    ("notosanscjksc-regular.otf", "Noto Sans CJK SC"),
    ("notosanscjk-vf.ttc", "Noto Sans CJK SC"),  # (the variable font, as Fedora installs it)
    ("notosanscjk-vf.otf.ttc", "Noto Sans CJK SC"),
    ("notoserifcjk-regular.ttc", "Noto Serif CJK SC"),
    ("notoserifcjksc-regular.otf", "Noto Serif CJK SC"),
    ("notoserifcjk-vf.ttc", "Noto Serif CJK SC"),
    ("sourcehansanssc-regular.otf", "Source Han Sans SC"),
    ("sourcehansanscn-regular.otf", "Source Han Sans CN"),
    ("sourcehansans-regular.ttc", "Source Han Sans SC"),
    ("sourcehanserifsc-regular.otf", "Source Han Serif SC"),
    ("sourcehanserifcn-regular.otf", "Source Han Serif CN"),
    ("sourcehanserif-regular.ttc", "Source Han Serif SC"),
    ("wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    ("msyh.ttc", "Microsoft YaHei"),
    ("msyh.ttf", "Microsoft YaHei"),
    ("simhei.ttf", "SimHei"),
    ("simsun.ttc", "SimSun"),
    ("simfang.ttf", "FangSong"),
    ("pingfang.ttc", "PingFang SC"),
    ("hiragino sans gb.ttc", "Hiragino Sans GB"),
    ("stheiti light.ttc", "STHeiti"),
    ("notosanscjkjp-regular.otf", "Noto Sans CJK JP"),
    ("notosanscjktc-regular.otf", "Noto Sans CJK TC"),
    ("notoserifcjkjp-regular.otf", "Noto Serif CJK JP"),
    ("notoserifcjktc-regular.otf", "Noto Serif CJK TC"),
    ("uming.ttc", "AR PL UMing CN"),
    ("ukai.ttc", "AR PL UKai CN"),
)

_WIDTH_MM = 150.0


def _font_dirs() -> list[Path]:
    try:
        home: Path | None = Path.home()
    except (RuntimeError, KeyError):  # (no HOME, and a uid without a passwd entry: a container)
        home = None
    if sys.platform.startswith("win"):
        windir = Path(os.environ.get("WINDIR", r"C:\Windows"))
        local = os.environ.get("LOCALAPPDATA")
        return [windir / "Fonts"] + ([Path(local) / "Microsoft" / "Windows" / "Fonts"] if local else [])
    if sys.platform == "darwin":
        return [Path("/System/Library/Fonts"), Path("/Library/Fonts")] + ([home / "Library" / "Fonts"] if home else [])
    data = os.environ.get("XDG_DATA_HOME")
    user = [Path(data) / "fonts"] if data else [home / ".local" / "share" / "fonts"] if home else []
    return [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), *user, *([home / ".fonts"] if home else [])]


@functools.lru_cache(maxsize=1)
def _font_face() -> tuple[str, int] | None:
    """(file, face index) of the preferred installed CJK font that FreeType can open, or None:
    the known files in the font folders (symlinked folders followed), best first; else any font
    fontconfig says covers simplified Chinese (``fc-list``, where there is one)."""
    rank = {name: i for i, (name, _family) in enumerate(_FONT_FILES)}
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for folder in _font_dirs():
        # (a folder that is not there gives nothing; each real folder is walked once, so that a
        # link back up the tree cannot make the walk endless)
        for root, dirs, files in os.walk(folder, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            found += [(rank[name.lower()], os.path.join(root, name)) for name in files if name.lower() in rank]
    for r, path in sorted(found):
        index = _face_index(path, _FONT_FILES[r][1])
        if index is not None:
            return path, index
    for path, index in _fontconfig_faces():
        if _face_index(path, "") is not None:
            return path, index
    return None


def _fontconfig_faces() -> list[tuple[str, int]]:
    """(file, face index) of every font fontconfig lists for simplified Chinese, regular weight
    and simplified-Chinese families (… SC, … CN) first; [] without fontconfig."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, "--format", "%{style[0]}\t%{family[0]}\t%{index}\t%{file}\n", ":lang=zh-cn"],
                             capture_output=True, text=True, timeout=10, check=False).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    faces = []
    for line in out.splitlines():
        style, family, index, path = (line.split("\t", 3) + ["", "", ""])[:4]
        if path and index.isdigit():
            simplified = any(tag in family.split() for tag in ("SC", "CN", "GB", "Hans"))
            faces.append((style.lower() not in ("regular", "book", "normal"), not simplified, path, int(index)))
    return [(path, index) for _bold, _other, path, index in sorted(faces)]


def _face_index(path: str, family: str) -> int | None:
    """The face named ``family`` in a collection (.ttc), else the first (0); None when the file
    cannot be opened as a font (damaged, unreadable; or Pillow built without FreeType).
    (``FreeTypeFont``, not ``truetype``: that would open another file of the same name from the
    system's fonts instead.)"""
    try:
        from PIL import ImageFont

        first = ImageFont.FreeTypeFont(path, 10, index=0)
    except (OSError, ValueError, ImportError):
        return None
    if not path.lower().endswith(".ttc") or not family or first.getname()[0] == family:
        return 0
    for i in range(1, 32):
        try:
            if ImageFont.FreeTypeFont(path, 10, index=i).getname()[0] == family:
                return i
        except (OSError, ValueError):
            break
    return 0


def find_cjk_font() -> str | None:
    """Path of an installed font file that has Chinese glyphs, or None if there is none."""
    face = _font_face()
    return face[0] if face else None


def _draw(chart: HBarChart) -> bytes | None:
    path = find_cjk_font()  # (tests replace it, to stand for a machine without one)
    if path is None:
        return None
    face = _font_face()
    index = face[1] if face and face[0] == path else 0
    try:
        return render(chart, path, index)
    except (OSError, ValueError, RuntimeError, ImportError):  # a font FreeType opens but cannot lay out
        return None  # (the report then leaves the chart out, as without a font)


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
    n = len(labels)
    bar_h = 0.38
    present = [v for v in list(values) + list(targets) if v is not None]
    span = max([abs(v) for v in present] + [1.0])
    low = min([0.0] + present)
    high = max([0.0] + present)
    pad = span * 0.14  # room for the value labels and the notes ("未报送" …) on both sides
    notes = []
    for i, (value, status, target) in enumerate(zip(values, statuses, targets, strict=True)):
        if value is None:
            note = status or MISSING_TEXT
            notes.append(Note(i, -bar_h / 2, 0.0, note, 8, STATUS_COLOURS.get(note) or "#333333", gap=2))
        else:
            notes.append(Note(i, -bar_h / 2, value, _fmt(value, target), 7.5, "#333333",
                              "left" if value >= 0 else "right", gap=2.5))  # fmt: skip
    chart = HBarChart(
        labels=tuple(labels),
        bars=(Bars(tuple(values), (ACTUAL_COLOUR,), -bar_h / 2, bar_h),
              Bars(tuple(targets), (TARGET_COLOUR,), bar_h / 2, bar_h)),  # fmt: skip
        xlim=(low - (pad if low < 0 else 0), high + pad),
        title=title,
        xlabel=unit,
        width_mm=_WIDTH_MM,
        height_mm=min(36.0 + 5.4 * max(n, 1), 190.0),
        notes=tuple(notes),
        legend=tuple((c, name) for c, name, series in ((ACTUAL_COLOUR, actual_label, values),
                                                        (TARGET_COLOUR, target_label, targets))
                     if any(v is not None for v in series)),  # fmt: skip
        zero_line=True,
    )
    return _draw(chart)


def status_overview(counts: Mapping[str, int], title: str) -> bytes | None:
    """Horizontal bars of how many tasks/indicators are in each status, status colours as in tables.

    Statuses are shown in the order of ``STATUS_COLOURS``, then any others in the order given.
    """
    names = [s for s in STATUS_COLOURS if s in counts] + [s for s in counts if s not in STATUS_COLOURS]
    numbers = [int(counts[s]) for s in names]
    top = max(numbers + [1])
    chart = HBarChart(
        labels=tuple(names),
        bars=(Bars(tuple(float(x) for x in numbers), tuple(STATUS_COLOURS.get(s) or PLAIN_BAR_COLOUR for s in names)
                   or (PLAIN_BAR_COLOUR,), 0.0, 0.6, edge="#555555"),),  # fmt: skip
        xlim=(0.0, top * 1.12),
        title=title,
        xlabel="数量（项）",
        width_mm=_WIDTH_MM,
        height_mm=30.0 + 9.0 * max(len(names), 1),
        notes=tuple(Note(i, 0.0, float(x), str(x), 9, "#000000", gap=2.5) for i, x in enumerate(numbers)),
        integer_ticks=True,
    )
    return _draw(chart)
