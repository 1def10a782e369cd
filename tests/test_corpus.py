"""The hostile-input corpus (tests/corpus/build.py) through ``pdreport consolidate``, as users run it.

Whatever lands in the folder: the run finishes with exit code 0 and no traceback, every file gets
exactly the finding its case expects (read back from 问题清单.xlsx), every good figure is taken
in, the inputs are byte-identical afterwards, every output opens, and the child's peak memory
stays under ``MAX_RSS_MB``. Each file the guard refuses is also refused in-process within
``GUARD_SECONDS`` and ``GUARD_PEAK_MB`` of Python allocations.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections import defaultdict
from pathlib import Path

import docx
import openpyxl
import pytest
from corpus.build import INJECTIONS, JINJA, Ctx, build_cases, numbers_as_text_keys, place
from helpers import SOFFICE, soffice_convert_many

import pdreport.intake.guard as guard
from pdreport.demo import fill_template
from pdreport.intake.clean import EXCEL_EPOCH
from pdreport.intake.guard import guard_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symlinks, FIFOs and permissions are POSIX")

MAX_RSS_MB = 400  # the whole corpus run, measured at about 140 MB (docs/limits.md)
GUARD_SECONDS = 2.0  # per refused file, in-process (measured: 0.25 s for the worst)
GUARD_PEAK_MB = 16  # Python allocations while refusing one file (measured: under 3 MB)
RUN_SECONDS = 120  # the whole corpus run (measured: about 5 s)
VALID = ("fgw", "jjw", "huamu_jd")  # plain demo returns mixed in
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# Run the child under a parent whose only child it is, so RUSAGE_CHILDREN is the child's own peak
# (this test process has run LibreOffice, whose peak would otherwise be reported).
WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
           "sys.stderr.write('\\nMAXRSS_KB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
           "sys.exit(p.returncode)")  # fmt: skip


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry's identity without following links or opening special files."""
    out = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            p = Path(root) / name
            st = os.lstat(p)
            key = os.fsencode(p.relative_to(folder)).hex()
            if stat.S_ISLNK(st.st_mode):
                out[key] = "link:" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                out[key] = hashlib.sha256(p.read_bytes()).hexdigest() + f":{st.st_mtime_ns}:{st.st_mode:o}"
            else:
                out[key] = f"mode:{st.st_mode:o}:{st.st_size}:{st.st_mtime_ns}"
    return out


@pytest.fixture(scope="module")
def corpus(plan, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    period = plan.period("2024H1")
    ctx = Ctx(plan, period, root / "scratch")
    cases = build_cases(ctx)
    converted: dict = {}
    skipped = []
    by_format = defaultdict(list)
    for c in cases:
        if c.convert:
            by_format[c.convert].append(c)
    for fmt, group in sorted(by_format.items()):
        if SOFFICE is None:
            skipped += group
            continue
        srcs = []
        for i, c in enumerate(group):  # plain ASCII names for LibreOffice; one start per format
            src = root / "lo-src" / fmt / f"case{i}.xlsx"
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_bytes(c.make)
            srcs.append(src)
        outs = soffice_convert_many(srcs, fmt, root / "lo" / fmt)
        converted.update({c.name: out for c, out in zip(group, outs, strict=True)})
    cases = [c for c in cases if c not in skipped]
    folder = root / "回收表"
    folder.mkdir()
    for c in cases:
        place(c, folder, converted)
    for rid in VALID:
        (folder / f"{rid}.xlsx").write_bytes(fill_template(ctx.demo[rid]))
    before = snapshot(folder)
    out = root / "汇总结果"
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "pdreport", "consolidate",
                        str(folder), "--period", "2024H1", "-o", str(out), "--date", "2024-07-20"],
                       capture_output=True, text=True, timeout=600, errors="replace")  # fmt: skip
    seconds = time.monotonic() - start
    after = snapshot(folder)
    rss_kb = int(r.stderr.rsplit("MAXRSS_KB=", 1)[1].split()[0])
    for c in cases:  # let tmp_path cleanup remove it
        if c.requires == "nonroot":
            os.chmod(Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(c.name)))), 0o644)
    return {"cases": cases, "skipped": skipped, "ctx": ctx, "folder": folder, "out": out, "run": r,
            "before": before, "after": after, "rss_mb": rss_kb / 1024, "seconds": seconds}  # fmt: skip


def problem_rows(out: Path) -> list[dict]:
    ws = openpyxl.load_workbook(out / "问题清单.xlsx", read_only=True)["问题清单"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] is not None]


def by_unit(out: Path) -> dict[str, tuple[str, str]]:
    ws = openpyxl.load_workbook(out / "问题清单.xlsx", read_only=True)["按单位统计"]
    return {r[0]: (r[2], r[3] or "") for r in ws.iter_rows(min_row=2, values_only=True)}


def data_rows(out: Path) -> list[dict]:
    text = (out / "数据明细.csv").read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_corpus_is_large_and_covers_every_kind(corpus):
    cases = corpus["cases"] + corpus["skipped"]
    assert len(cases) >= 40
    codes = {c.code for c in cases}
    assert {"E001", "E002", "E003", "E004", "E005", "E006", "E007", "E008", "E102", "E104", "E201",
            "W205", "W211", "W212", ""} <= codes  # fmt: skip


def test_consolidate_finishes_cleanly(corpus):
    r = corpus["run"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stdout + r.stderr
    assert corpus["seconds"] < RUN_SECONDS
    assert corpus["rss_mb"] < MAX_RSS_MB, f"peak RSS {corpus['rss_mb']:.0f} MB"
    print(f"\ncorpus run: {len(corpus['cases'])} cases, {corpus['seconds']:.1f} s, peak RSS {corpus['rss_mb']:.0f} MB")


def test_inputs_untouched(corpus):
    assert corpus["after"] == corpus["before"]


def test_every_file_gets_its_finding(corpus, plan):
    found = defaultdict(set)
    for row in problem_rows(corpus["out"]):
        if row["文件"]:
            found[row["文件"]].add(row["问题代码"])
    units = by_unit(corpus["out"])
    wrong = []
    for c in corpus["cases"]:
        want = {c.code} if c.code else set()
        got = found.get(c.display, set())
        if c.requires == "nonroot" and IS_ROOT:
            continue  # root reads a chmod-000 file: the guard's own test covers E006 (test_intake_guard)
        if got != want:
            wrong.append(f"{c.display!r}: expected {sorted(want) or '无问题'}, got {sorted(got) or '无问题'}")
        if c.respondent:
            state, used = units[plan.respondent(c.respondent).name]
            if c.accepted and used != c.display:
                wrong.append(f"{c.display!r}: not taken in for {c.respondent} ({state}, {used!r})")
            if not c.accepted and used == c.display:
                wrong.append(f"{c.display!r}: taken in, but it must not be")
    assert wrong == [], "\n".join(wrong)


def test_refused_files_are_named_with_a_reason(corpus):
    rows = problem_rows(corpus["out"])
    for c in corpus["cases"]:
        if c.code.startswith("E0") and not (c.requires == "nonroot" and IS_ROOT):
            row = next(r for r in rows if r["文件"] == c.display)
            assert row["问题说明"] and row["处理建议"], c.display


def test_symlink_is_not_followed(corpus, plan):
    units = by_unit(corpus["out"])
    assert units["新场镇"][0] == "未报送"  # the symlink's target is a valid return outside DIR


def test_good_figures_are_taken_in(corpus, plan):
    ctx, rows = corpus["ctx"], data_rows(corpus["out"])
    figures = {(r["respondent_id"], r["编号"]): r for r in rows if r["类型"] == "指标"}
    for rid in VALID + tuple(c.respondent for c in corpus["cases"] if c.accepted and c.respondent):
        for key, value in ctx.demo[rid].values.items():
            if key.startswith("ind.") and key.endswith(".value") and isinstance(value, (int, float)):
                ind = key.split(".")[1]
                if rid == "jgj" and ind in _jgj_changed(ctx):
                    continue
                assert float(figures[(rid, ind)]["数值"]) == pytest.approx(value), (rid, key)


def _jgj_changed(ctx):
    return {k.split(".")[1] for k in numbers_as_text_keys(ctx)}


def test_numbers_and_dates_as_text(corpus):
    ctx, rows = corpus["ctx"], data_rows(corpus["out"])
    a, b = (k.split(".")[1] for k in numbers_as_text_keys(ctx))
    figures = {(r["respondent_id"], r["编号"]): float(r["数值"]) for r in rows if r["类型"] == "指标"}
    assert figures[("jgj", a)] == 12345.0 and figures[("jgj", b)] == 1234
    milestones = {r["respondent_id"]: r["文字"] for r in rows if r["类型"] == "里程碑"}
    assert milestones["heqing_zhen"].startswith("是；2024-06-30")
    serial = (EXCEL_EPOCH + dt.timedelta(days=45470)).isoformat()
    assert milestones["zhangjiang_glj"].startswith(f"是；{serial}")


def test_text_is_cleaned_and_capped(corpus):
    rows = {(r["respondent_id"], r["类型"]): r["文字"] for r in data_rows(corpus["out"]) if r["类型"] == "任务"}
    cleaned = next(r["文字"] for r in data_rows(corpus["out"]) if r["respondent_id"] == "cgzfj" and r["类型"] == "任务")
    assert cleaned.startswith("进展顺利\t完成\n下一行")
    assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in cleaned)
    long = next(r["文字"] for r in data_rows(corpus["out"]) if r["respondent_id"] == "tjj" and r["类型"] == "任务")
    assert 2000 <= len(long) < 2100  # capped at 2000 (plus the task's other parts)
    assert rows


def _cells(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            yield from row


def test_injected_text_is_never_a_formula(corpus):
    out = corpus["out"]
    files = [out / "问题清单.xlsx", out / "数据明细.xlsx", out / "汇总表.xlsx", *sorted((out / "退回修改").glob("*.xlsx"))]
    seen = 0
    for path in files:
        for cell in _cells(path):
            if isinstance(cell.value, str) and any(s in cell.value for s in INJECTIONS + ("=1+1 为原文照录",)):
                assert cell.data_type == "s", (path.name, cell.coordinate, cell.value)
                seen += 1
    assert seen >= 4
    csv_text = (out / "数据明细.csv").read_text(encoding="utf-8-sig")
    assert "\n=" not in csv_text and ",=" not in csv_text and ",+" not in csv_text and ",@" not in csv_text


def test_ods_feedback_keeps_text_as_text(corpus, plan):
    if any(c.name == "公式文字.ods" for c in corpus["skipped"]):
        pytest.skip("LibreOffice is not installed")
    copy = corpus["out"] / "退回修改" / "洋泾街道_退回修改.xlsx"
    cells = [c for c in _cells(copy) if c.value == "=1+1 为原文照录"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_feedback_copies_named_after_respondents(corpus):
    names = sorted(p.name for p in (corpus["out"] / "退回修改").iterdir())
    assert "高行镇_退回修改.xlsx" in names  # the 245-byte file name is not reused
    assert "区规划资源局_退回修改.xlsx" in names  # strict OOXML: rebuilt from the template
    assert all(n.endswith("_退回修改.xlsx") for n in names)


def test_template_syntax_is_never_evaluated(corpus):
    doc = docx.Document(str(next(corpus["out"].glob("*.docx"))))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    assert "{{ 7*7 }}" in text and "{% for x in range(3) %}" in text and JINJA[:9] in text
    assert "循环循环循环" not in text and "<class" not in text


def test_every_output_opens_and_nothing_is_left_behind(corpus):
    out = corpus["out"]
    names = []
    for p in sorted(out.rglob("*")):
        if p.is_dir():
            continue
        names.append(p.name)
        if p.suffix == ".xlsx":
            assert zipfile.ZipFile(p).testzip() is None
            openpyxl.load_workbook(p)
        elif p.suffix == ".docx":
            docx.Document(str(p))
    assert not [n for n in names if n.startswith(".") and n != ".pdreport-output"], names  # no lock, no temp files


# -- each refused file: bounded time and memory, in-process ---------------------------------------------


def test_each_refused_file_is_refused_fast_and_small(corpus, monkeypatch):
    monkeypatch.setattr(guard, "_RAISE_UNEXPECTED", True)
    slow = []
    for c in corpus["cases"]:
        if not c.guard or (c.requires == "nonroot" and IS_ROOT):
            continue
        path = Path(os.fsdecode(os.path.join(os.fsencode(corpus["folder"]), os.fsencode(c.name))))
        if c.requires == "nonroot":
            os.chmod(path, 0)
        start = time.perf_counter()
        result = guard_file(path)
        seconds = time.perf_counter() - start
        tracemalloc.start()  # a second pass for memory (tracing slows the scan down several times)
        guard_file(path)
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
        if c.requires == "nonroot":
            os.chmod(path, 0o644)
        assert [f.code.code for f in result.findings] == [c.code], c.display
        if seconds > GUARD_SECONDS or peak > GUARD_PEAK_MB:
            slow.append(f"{c.display}: {seconds:.2f} s, {peak:.1f} MB")
    assert slow == []


def test_guard_decides_the_same_with_and_without_fastscan(corpus, monkeypatch):
    """The whole-file depth scan (``intake/guard/fastscan.py``) and the worksheet bound
    (``xmlscan._sheet_bound``) only ever clear files: every file of the corpus gets the same kind
    and findings from the exact per-part scans alone."""
    import pdreport.intake.guard.fastscan  # noqa: F401 - loads numpy, which turns the fast path on
    from pdreport.intake.guard import zipcheck

    files = sorted(p for p in corpus["folder"].iterdir())
    assert zipcheck._fastscan() is not None
    fast = [guard_file(f) for f in files]
    monkeypatch.setattr(zipcheck, "_fastscan", lambda: None)
    monkeypatch.setattr(zipcheck, "_sheet_bound", lambda data, region=None: None)
    exact = [guard_file(f) for f in files]
    assert [(r.kind, r.findings) for r in fast] == [(r.kind, r.findings) for r in exact]


def test_docs_list_every_case_and_limit(corpus):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    for c in corpus["cases"] + corpus["skipped"]:
        assert c.what and f"`{c.display.replace('|', chr(92) + '|')}`" in doc, c.display
    for cap in ("20 MB", "2,000", "200 MB", "100 : 1", "100,000 行", "1,000 列", "4,000,000", "200,000", "64", "2,000 字"):
        assert cap in doc, cap
    assert f"{MAX_RSS_MB} MB" in doc
