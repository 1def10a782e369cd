"""The chart layer under the report's charts (``report/plot.py``): ticks, layout, pixels."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdreport.report import charts, plot

needs_font = pytest.mark.skipif(charts.find_cjk_font() is None, reason="no CJK font installed")


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.booleans())
def test_nice_ticks_are_evenly_spaced_inside_the_range(low, span, integer):
    high = low + span
    ticks = plot.nice_ticks(low, high, integer)
    assert 1 <= len(ticks) <= 9
    assert all(low - 1e-6 * span <= t <= high + 1e-6 * span for t in ticks)
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) <= 1 or max(steps) - min(steps) <= 1e-6 * max(span, 1)
    if integer and math.floor(high) >= math.ceil(low):  # (else the ticks of a plain axis)
        assert all(float(t).is_integer() for t in ticks)
    if span >= 1 and not integer:
        assert len(ticks) >= 3  # an axis a reader can read values from


def test_nice_ticks_of_the_usual_ranges():
    assert plot.nice_ticks(0, 6.8) == [0, 1, 2, 3, 4, 5, 6]
    assert plot.nice_ticks(0, 20.16, integer=True) == [0, 5, 10, 15, 20]
    assert plot.nice_ticks(-1.75, 3.99) == [-1, 0, 1, 2, 3]
    assert plot.tick_text(2.5) == "2.5" and plot.tick_text(-0.0) == "0" and plot.tick_text(2.5e6) == "2500000"


def _image(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def _chart(**over) -> plot.HBarChart:
    base = {"labels": ("甲", "乙"), "bars": (plot.Bars((1.0, 2.0), ("#0072B2",), 0.0, 0.6),), "xlim": (0.0, 2.5),
            "title": "标题", "xlabel": "单位", "width_mm": 150.0, "height_mm": 60.0}  # fmt: skip
    base.update(over)
    return plot.HBarChart(**base)


@needs_font
def test_render_is_sized_in_mm_at_200_dpi_and_repeatable():
    path = charts.find_cjk_font()
    png = plot.render(_chart(), path)
    image = _image(png)
    assert image.size == (round(150 / 25.4 * 200), round(60 / 25.4 * 200))
    assert plot.render(_chart(), path) == png
    assert b"tIME" not in png and b"tEXt" not in png  # no clock, no software stamp


@needs_font
def test_bars_are_as_long_as_their_values():
    image = _image(plot.render(_chart(), charts.find_cjk_font()))
    blue = (0x00, 0x72, 0xB2)
    rows = {}
    for y in range(image.height):
        xs = [x for x in range(image.width) if image.getpixel((x, y)) == blue]
        if xs:
            rows[y] = (min(xs), max(xs))
    spans = sorted({(a, b) for a, b in rows.values()})
    assert len(spans) == 2  # two bars, each of one length
    (start1, end1), (start2, end2) = sorted(spans, key=lambda s: s[1])
    assert start1 == start2  # both from the zero line
    assert abs((end2 - start2 + 1) / (end1 - start1 + 1) - 2.0) < 0.02


@needs_font
def test_long_labels_push_the_bars_right_and_are_never_cut():
    image = _image(plot.render(_chart(labels=("浦东新区某某某某管理委员会", "乙")), charts.find_cjk_font()))
    width, height = image.size
    edge = [image.getpixel((x, y)) for x in range(3) for y in range(height)]
    assert all(p == (255, 255, 255) for p in edge)  # nothing drawn into the left margin


@needs_font
def test_chart_functions_draw_with_pillow_only():
    import subprocess
    import sys

    code = ("import sys; from pdreport.report import charts\n"
            "png = charts.status_overview({'已完成': 3, '滞后': 1}, '任务状态')\n"
            "print(len(png) > 1000, 'matplotlib' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


@needs_font
def test_font_lookup_takes_the_best_file_that_opens(tmp_path, monkeypatch):
    """By file name, best first; a damaged file is passed over; in a collection, the simplified-
    Chinese face; no known file: no font (the report then says the charts are left out)."""
    real = charts.find_cjk_font()
    fonts = tmp_path / "fonts" / "sub"
    fonts.mkdir(parents=True)
    (fonts / "NotoSansCJK-Regular.ttc").write_bytes(b"not a font")
    (fonts / "readme.txt").write_text("x")
    (fonts / "up").symlink_to(tmp_path / "fonts")  # two links back up the tree: walked once
    (fonts / "up2").symlink_to(fonts)
    monkeypatch.setattr(charts, "_font_dirs", lambda: [tmp_path / "nowhere", tmp_path / "fonts"])
    monkeypatch.setattr(charts, "_fontconfig_faces", lambda: [])
    charts._font_face.cache_clear()
    try:
        assert charts._font_face() is None
        # no known file: a font fontconfig lists for simplified Chinese, if it opens
        monkeypatch.setattr(charts, "_fontconfig_faces", lambda: [(str(fonts / "readme.txt"), 0), (real, 0)])
        charts._font_face.cache_clear()
        assert charts._font_face() == (real, 0)
        monkeypatch.setattr(charts, "_fontconfig_faces", lambda: [])
        if real.lower().endswith("notosanscjk-regular.ttc"):
            (fonts / "wqy-zenhei.ttc").symlink_to(real)  # (a Noto collection under a later name)
            charts._font_face.cache_clear()
            assert charts._font_face() == (str(fonts / "wqy-zenhei.ttc"), 0)  # no face of that family: the first
            (fonts / "NotoSansCJK-Regular.ttc").unlink()
            (fonts / "NotoSansCJK-Regular.ttc").symlink_to(real)
            charts._font_face.cache_clear()
            path, index = charts._font_face()
            assert path == str(fonts / "NotoSansCJK-Regular.ttc")
            from PIL import ImageFont

            assert ImageFont.truetype(path, 10, index=index).getname()[0] == "Noto Sans CJK SC"
    finally:
        charts._font_face.cache_clear()


@needs_font
def test_what_names_and_sizes_throw_at_it_is_drawn_not_raised(tmp_path):
    """A name with a line break (the plan allows one), hundreds of units, names far too long for
    the width, huge numbers: a chart, never an error (a run must not fail over a picture)."""
    path = charts.find_cjk_font()
    for chart in (
        _chart(labels=("万祥镇\n（试点）", "乙\t镇")),
        _chart(labels=tuple(f"单位{i}" for i in range(500)), bars=(plot.Bars(tuple(range(500)), ("#0072B2",)),),
               xlim=(0.0, 600.0)),
        _chart(labels=("浦东新区" * 20, "乙"), title="工业万元产值能耗下降率与目标" * 5,
               legend=(("#0072B2", "实际下降率" * 10), ("#E69F00", "目标"))),
        _chart(bars=(plot.Bars((1e6, 2.4e6), ("#0072B2",)),), xlim=(0.0, 2.5e6)),
        _chart(labels=("浦东" * 20000, "乙"), title="标题" * 50000),  # (cut by halving: measured ~20 times)
    ):
        image = _image(plot.render(chart, path))
        assert image.size == (1181, 472)
    long = _image(plot.render(_chart(labels=("浦东新区" * 20, "乙"), title="标题" * 40), path))
    assert all(long.getpixel((x, y)) == (255, 255, 255) for x in (0, 1180) for y in range(long.height))
    assert charts.bar_vs_target(["万祥镇\n（试点）"], [1.0], [2.0], "标题", "%") is not None


def test_a_chart_that_cannot_be_drawn_is_left_out(monkeypatch):
    """Whatever goes wrong in drawing, the report leaves the chart out instead of failing."""
    def broken(*args):
        raise RuntimeError("raqm_layout() failed.")

    monkeypatch.setattr(charts, "find_cjk_font", lambda: "/nonexistent/font.ttc")
    monkeypatch.setattr(charts, "render", broken)
    assert charts.bar_vs_target(["甲"], [1.0], [2.0], "标题", "%") is None
    assert charts.status_overview({"已完成": 1}, "标题") is None


def test_font_folders_without_a_home_directory(monkeypatch):
    from pathlib import Path

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    dirs = charts._font_dirs()
    assert Path("/usr/share/fonts") in dirs or any("Fonts" in str(d) for d in dirs)
