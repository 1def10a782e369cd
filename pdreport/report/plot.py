"""Horizontal bar charts drawn with Pillow into PNG bytes: the low-level layer under ``charts``.

The report has two charts, both horizontal bars with text beside them. matplotlib drew them, but
its import alone took longer than the rest of a 58-return run's report: here a chart is laid out
by hand on a raster at 200 dpi (text measured with FreeType, so labels never overlap the bars)
and costs a few tens of milliseconds. Same inputs, same bytes: nothing here reads the clock.

``HBarChart`` says what to draw, in data terms; ``render`` turns it into PNG bytes with one font
face (``charts.find_cjk_font`` and the face index ``charts`` finds with it).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

DPI = 200
_MM_PER_INCH = 25.4


def px(points: float) -> int:
    """Points (1/72 inch) at ``DPI``, in whole pixels."""
    return max(1, round(points * DPI / 72))


def mm_px(mm: float) -> int:
    return round(mm / _MM_PER_INCH * DPI)


@dataclass(frozen=True)
class Bars:
    """One series: a bar per group where its value is not None, ``offset`` and ``height`` in
    fractions of a group's height (0 = the group's centre line)."""

    values: tuple[float | None, ...]
    colours: tuple[str, ...]  # one per group, or one for all
    offset: float = 0.0
    height: float = 0.6
    edge: str | None = None  # outline colour (1 px), or none

    def colour(self, i: int) -> str:
        return self.colours[i] if len(self.colours) > 1 else self.colours[0]


@dataclass(frozen=True)
class Note:
    """Text beside a bar: at ``x`` (data units) on the line ``offset`` of group ``group``."""

    group: int
    offset: float
    x: float
    text: str
    size: float = 8.0  # points
    colour: str = "#333333"
    align: str = "left"  # the text starts at x ("left") or ends there ("right")
    gap: float = 0.0  # points between x and the text


@dataclass(frozen=True)
class HBarChart:
    labels: tuple[str, ...]  # one per group, top to bottom
    bars: tuple[Bars, ...]
    xlim: tuple[float, float]
    title: str
    xlabel: str
    width_mm: float
    height_mm: float
    notes: tuple[Note, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()  # (colour, name), shown centred below
    integer_ticks: bool = False
    zero_line: bool = False
    sizes: dict[str, float] = field(default_factory=lambda: {"title": 11, "label": 9, "tick": 8.5, "axis": 9,
                                                             "legend": 9})  # fmt: skip


INK = "#000000"
GRID = "#DDDDDD"
TICK_PX = px(3.5)  # tick marks, as matplotlib draws them
LINE_PX = px(0.8)  # axis lines
PAD_PX = px(4)


def nice_ticks(low: float, high: float, integer: bool = False, most: int = 9) -> list[float]:
    """Tick values inside [low, high] at a step of 1, 2, 2.5 or 5 × 10ⁿ, at most ``most`` of them
    (what matplotlib's default locator gives for these ranges)."""
    span = high - low
    if not span > 0 or not math.isfinite(span):
        return [low]
    raw = span / (most - 1)
    base = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if not integer else (1, 2, 5, 10)
    step = next(s * base for s in steps if s * base >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(low / step - 1e-9) * step
    out = []
    k = 0
    while first + k * step <= high + step * 1e-9:
        out.append(round(first + k * step, 10))
        k += 1
    return out or nice_ticks(low, high, False, most)  # (no whole number in a narrow range)


def tick_text(value: float) -> str:
    """A tick's number as written, never in exponent form (2500000, not 2.5e+06)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:.6g}"
    return "0" if text in ("-0", "0", "") else text


_UNPRINTABLE = dict.fromkeys(range(32), " ")  # (a line break in a name would stop the text layout)


def plain(text: str, font, room: float) -> str:
    """``text`` on one line, cut with "…" where it would be wider than ``room`` pixels."""
    text = " ".join(str(text).translate(_UNPRINTABLE).split())
    if font.getlength(text) <= room:
        return text
    lo, hi = 0, len(text)  # the longest start that fits with the "…" (measured log n times)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid] + "…") <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def render(chart: HBarChart, font_path: str, font_index: int = 0) -> bytes:
    """The chart as PNG bytes, ``chart.width_mm`` × ``chart.height_mm`` at ``DPI``."""
    from PIL import Image, ImageDraw, ImageFont

    fonts: dict[float, ImageFont.FreeTypeFont] = {}

    def font(points: float):
        if points not in fonts:  # (not truetype(): it would open another file of that name instead)
            fonts[points] = ImageFont.FreeTypeFont(font_path, px(points), index=font_index)
        return fonts[points]

    def height(points: float) -> int:
        ascent, descent = font(points).getmetrics()
        return ascent + descent

    def centred(x: float, y: float, text: str, f, fill: str, side: str) -> None:
        """``text`` starting ("l"), ending ("r") or centred ("m") at ``x``, the middle of its ink at
        ``y`` (as matplotlib's va="center": digits sit on the bar's line, not below it)."""
        _x0, y0, _x1, y1 = f.getbbox(text, anchor=side + "s")
        draw.text((x, y - (y0 + y1) / 2), text, font=f, fill=fill, anchor=side + "s")

    sizes = chart.sizes
    width, full_height = mm_px(chart.width_mm), mm_px(chart.height_mm)
    image = Image.new("RGB", (width, full_height), "white")
    draw = ImageDraw.Draw(image)
    low, high = chart.xlim
    inside = width - 2 * PAD_PX
    title = plain(chart.title, font(sizes["title"]), inside)
    xlabel = plain(chart.xlabel, font(sizes["axis"]), inside)
    # group labels take at most 40 % of the width: a longer name is cut, the bars keep their room
    labels = [plain(s, font(sizes["label"]), 0.4 * width) for s in chart.labels]

    # the frame: title above, tick labels, axis title and legend below, group labels to the left
    top = PAD_PX + height(sizes["title"]) + px(6)
    bottom = full_height - PAD_PX
    if chart.legend:
        bottom -= height(sizes["legend"]) + px(6)
    bottom -= height(sizes["axis"]) + px(2)
    bottom -= height(sizes["tick"]) + TICK_PX + px(3)
    bottom = max(bottom, top + 1)
    label_width = max((font(sizes["label"]).getlength(s) for s in labels), default=0)
    left = PAD_PX + math.ceil(label_width) + TICK_PX + px(3.5)
    ticks = [t for t in nice_ticks(low, high, chart.integer_ticks) if low - 1e-9 <= t <= high + 1e-9]
    tick_labels = [tick_text(t) for t in ticks]
    last_tick = font(sizes["tick"]).getlength(tick_labels[-1]) / 2 if tick_labels else 0
    right = max(width - PAD_PX - math.ceil(last_tick), left + 1)
    # as few ticks as keep their numbers apart (every second one, every fourth …)
    widest = max((font(sizes["tick"]).getlength(t) for t in tick_labels), default=0) + px(4)
    every = 1
    if len(ticks) > 1:
        apart = (ticks[1] - ticks[0]) / (high - low) * (right - left)  # pixels between two ticks
        while len(ticks) > every and apart * every < widest:
            every *= 2
    ticks, tick_labels = ticks[::every], tick_labels[::every]
    n = max(len(labels), 1)
    group = (bottom - top) / n

    def x_of(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    def y_of(i: int, offset: float) -> float:
        return top + (i + 0.5 + offset) * group

    for t in ticks:  # grid first: the bars go over it
        x = round(x_of(t))
        draw.line([(x, top), (x, bottom)], fill=GRID, width=px(0.6))
    for bars in chart.bars:
        half = bars.height * group / 2
        for i, value in enumerate(bars.values):
            if value is None:
                continue
            x0, x1 = sorted((x_of(0.0 if low <= 0 <= high else low), x_of(value)))
            y = y_of(i, bars.offset)
            box = [round(x0), round(y - half), round(x1), max(round(y + half) - 1, round(y - half))]
            if box[2] <= box[0]:
                if bars.edge is None:
                    continue
                box[2] = box[0] + 1
            draw.rectangle(box, fill=bars.colour(i), outline=bars.edge, width=1 if bars.edge else 0)
    if chart.zero_line and low <= 0 <= high:
        x = round(x_of(0.0))
        draw.line([(x, top), (x, bottom)], fill=INK, width=LINE_PX)

    # axes: left and bottom, with ticks
    draw.line([(left, top), (left, bottom)], fill=INK, width=LINE_PX)
    draw.line([(left, bottom), (right, bottom)], fill=INK, width=LINE_PX)
    for i, label in enumerate(labels):
        y = round(y_of(i, 0.0))
        draw.line([(left - TICK_PX, y), (left, y)], fill=INK, width=LINE_PX)
        centred(left - TICK_PX - px(3.5), y, label, font(sizes["label"]), INK, "r")
    for t, text in zip(ticks, tick_labels, strict=True):
        x = round(x_of(t))
        draw.line([(x, bottom), (x, bottom + TICK_PX)], fill=INK, width=LINE_PX)
        draw.text((x, bottom + TICK_PX + px(3)), text, font=font(sizes["tick"]), fill=INK, anchor="mt")
    axis_y = bottom + TICK_PX + px(3) + height(sizes["tick"]) + px(2)
    draw.text((_within((left + right) / 2, font(sizes["axis"]).getlength(xlabel), width), axis_y), xlabel,
              font=font(sizes["axis"]), fill=INK, anchor="mt")  # fmt: skip
    draw.text((_within((left + right) / 2, font(sizes["title"]).getlength(title), width), PAD_PX), title,
              font=font(sizes["title"]), fill=INK, anchor="mt")  # fmt: skip

    for note in chart.notes:
        gap = px(note.gap) if note.gap else 0
        x = x_of(note.x) + (gap if note.align == "left" else -gap)
        centred(x, y_of(note.group, note.offset), plain(note.text, font(note.size), inside), font(note.size),
                note.colour, "l" if note.align == "left" else "r")  # fmt: skip

    if chart.legend:
        f = font(sizes["legend"])
        box_w, box_h, gap = px(14), px(5), px(4)
        names = [plain(name, f, inside / len(chart.legend) - box_w - gap - px(14)) for _c, name in chart.legend]
        widths = [box_w + gap + f.getlength(name) for name in names]
        total = sum(widths) + px(14) * (len(widths) - 1)
        x = _within((left + right) / 2, total, width) - total / 2
        y = full_height - PAD_PX - height(sizes["legend"]) / 2
        for (colour, _name), name, w in zip(chart.legend, names, widths, strict=True):
            draw.rectangle([round(x), round(y - box_h / 2), round(x + box_w), round(y + box_h / 2)], fill=colour)
            centred(x + box_w + gap, y, name, f, INK, "l")
            x += w + px(14)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3, dpi=(DPI, DPI))
    return buffer.getvalue()


def _within(centre: float, text_width: float, width: int) -> float:
    """The centre for a text ``text_width`` wide near ``centre``, moved so that it stays inside."""
    half = text_width / 2
    return min(max(centre, PAD_PX + half), width - PAD_PX - half)
