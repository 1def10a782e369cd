"""Fill a template as staff would (openpyxl; LibreOffice re-save) and read every input back."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from helpers import needs_soffice, read_map_and_values, soffice_convert_many

from pdreport.template import generate_templates

STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)


def sample_value(field, i: int):
    if field.kind == "number":
        return round(1000 + i * 1.25, 2) if field.maximum is None else 50 + i % 40
    if field.kind == "choice":
        return field.choices[i % len(field.choices)]
    if field.kind == "date":
        return dt.datetime(2024, 6, 1 + i % 28)
    return f"{field.label}：第{i}项填报内容，含标点“引号”、换行\n第二行。"


def fill(src, dst, layout):
    wb = openpyxl.load_workbook(src)
    typed = {}
    for i, field in enumerate(layout.fields):
        value = sample_value(field, i)
        wb[field.sheet][field.cell] = value
        typed[field.key] = value
    wb.save(dst)
    return typed


def same(expected, got) -> bool:
    if isinstance(expected, dt.datetime):
        if isinstance(got, (dt.date, dt.datetime)):
            return got.timetuple()[:3] == expected.timetuple()[:3]
        return False
    if isinstance(expected, (int, float)):
        return isinstance(got, (int, float)) and abs(got - expected) < 1e-9
    return str(got).replace("\r\n", "\n") == expected


@pytest.fixture(scope="module")
def filled(plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("filled")
    files = generate_templates(plan, plan.period("2024H1"), out / "blank",
                               ["区建交委", "康桥镇", "区发改委"], STAMP)  # fmt: skip
    result = []
    for tf in files:
        dst = out / f"{tf.respondent.id}.xlsx"
        result.append((dst, fill(tf.path, dst, tf.layout)))
    return result


def test_openpyxl_fill_reads_back(filled):
    for path, typed in filled:
        tmap, values = read_map_and_values(path)
        for key, expected in typed.items():
            assert same(expected, values[key]), (path.name, key, expected, values[key])


@needs_soffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods", "xls"])
def test_libreoffice_resave_keeps_every_input(filled, tmp_path, fmt):
    paths = [path for path, _typed in filled]
    converted = soffice_convert_many(paths, fmt, tmp_path / fmt)  # one LibreOffice start per format
    for (path, typed), out in zip(filled, converted, strict=True):
        tmap, values = read_map_and_values(out)
        assert tmap.respondent_id == path.stem
        for key, expected in typed.items():
            assert same(expected, values[key]), (fmt, path.name, key, expected, values[key])
