"""Every cell style of the templates in one place (xlsxwriter Format objects)."""

from __future__ import annotations

from dataclasses import dataclass

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
INPUT_FILL = "#FFF2CC"  # light yellow: staff type here
FORMULA_FILL = "#DDEBF7"  # light blue: computed, locked
HEADER_FILL = "#D9D9D9"
MISSING_FILL = "#F8CBAD"  # conditional: a required input still empty
BORDER = {"border": 1, "border_color": "#808080"}
_WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def workbook_options() -> dict:
    """Options for every xlsxwriter workbook pdreport writes: no string becomes a formula, link or
    number. A fresh dict each call: xlsxwriter writes into ``default_format_properties``, so a
    shared dict would make every workbook after the first in a process differ."""
    return {**_WORKBOOK_OPTIONS, "default_format_properties": {"font_name": BODY_FONT, "font_size": 11}}


@dataclass
class Formats:
    title: object
    subtitle: object
    info_label: object
    info_value: object
    note: object
    header: object
    label: object
    label_center: object
    label_wrap: object
    number: object
    input_number: object
    input_text: object
    input_line: object
    input_choice: object
    input_date: object
    formula_number: object
    formula_percent: object
    formula_text: object
    missing: object
    check_ok: object
    section: object


def make_formats(wb) -> Formats:
    def f(**props):
        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter"}
        base.update(props)
        return wb.add_format(base)

    inp = dict(BORDER, bg_color=INPUT_FILL, locked=False)
    calc = dict(BORDER, bg_color=FORMULA_FILL)
    return Formats(
        title=f(font_name=TITLE_FONT, font_size=16, bold=True, align="center"),
        subtitle=f(font_size=12, align="center"),
        info_label=f(bold=True, align="right"),
        info_value=f(text_wrap=True),
        note=f(font_size=10, text_wrap=True, font_color="#404040", valign="top"),
        header=f(bold=True, bg_color=HEADER_FILL, align="center", text_wrap=True, **BORDER),
        label=f(text_wrap=True, **BORDER),
        label_center=f(align="center", text_wrap=True, **BORDER),
        label_wrap=f(text_wrap=True, valign="top", font_size=10, **BORDER),
        number=f(num_format="#,##0.##", align="right", **BORDER),
        input_number=f(num_format="#,##0.00", **inp),
        # Text cells keep what is typed as text ("@"): "-完成3场培训" or "=…" would otherwise become
        # a formula showing #NAME?, and a phone number would lose its leading 0
        input_text=f(text_wrap=True, valign="top", num_format="@", **inp),
        input_line=f(align="center", num_format="@", **inp),
        input_choice=f(align="center", **inp),
        input_date=f(num_format="yyyy-mm-dd", align="center", **inp),
        formula_number=f(num_format="#,##0.0000", **calc),
        formula_percent=f(num_format="0.0%", align="right", **calc),
        formula_text=f(text_wrap=True, align="center", **calc),
        missing=wb.add_format({"bg_color": MISSING_FILL}),
        check_ok=f(bold=True, font_color="#C00000", text_wrap=True),
        section=f(bold=True, font_size=12),
    )
