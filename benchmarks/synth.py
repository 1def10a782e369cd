"""Synthetic plans and filled-return corpora for the benchmarks.

A plan for N respondents is the bundled plan with extra towns and streets appended to its
``respondents``; the groups 各镇 / 各街道 are defined by kind (``members_kind``), so every
task and indicator given to 各镇 or 各街道 reaches the new units too, exactly as the plan loader
resolves it. Every file of the corpus is then a distinct respondent with its own template.
"""

from __future__ import annotations

import yaml

from pdreport.plan.load import default_plan_path, parse_plan
from pdreport.plan.model import Plan


def synthetic_plan_text(n: int) -> str:
    """YAML of the bundled plan grown to ``n`` respondents (n >= 58; n == 58 is the real plan)."""
    text = default_plan_path().read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    extra = n - len(data["respondents"])
    if extra < 0:
        raise ValueError(f"the bundled plan already has {len(data['respondents'])} respondents")
    for i in range(1, extra + 1):
        if i % 2:
            data["respondents"].append({"id": f"town_{i:05d}", "name": f"合成镇{i:05d}", "kind": "town"})
        else:
            data["respondents"].append({"id": f"street_{i:05d}", "name": f"合成街道{i:05d}", "kind": "street"})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def synthetic_plan(n: int) -> Plan:
    return parse_plan(synthetic_plan_text(n), source=f"<synthetic plan, {n} respondents>")


# -- corpora of filled returns ----------------------------------------------------------------------

import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import tempfile  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

PERIOD = "2024H1"
STAMP = dt.datetime(2024, 6, 20, 9, 0)
CHUNK = 100  # respondents per worker task (and per pickled cell recording)
CORPUS_FORMAT = "1"  # bump when the way corpora are generated changes


def cache_root() -> Path:
    return Path(os.environ.get("PDREPORT_BENCH_CACHE") or Path(tempfile.gettempdir()) / "pdreport-bench")


def corpus_key(n: int) -> str:
    from pdreport import template
    from pdreport.template.layout import TEMPLATE_VERSION

    h = hashlib.sha256()
    for part in (CORPUS_FORMAT, TEMPLATE_VERSION, synthetic_plan_text(n) if n > 58 else str(default_plan_path()),
                 Path(__file__).read_text(encoding="utf-8")):
        h.update(part.encode("utf-8"))
    for source in sorted(Path(template.__file__).parent.glob("*.py")):  # (how a return is written: its hidden sheet too)
        h.update(source.read_bytes())
    h.update(Path(default_plan_path()).read_bytes())
    return f"n{n}-{h.hexdigest()[:12]}"


_PLAN: Plan | None = None


def _init_worker(plan_bytes: bytes) -> None:
    global _PLAN
    _PLAN = pickle.loads(plan_bytes)
    from pdreport.template import fastsheet

    # The returns stand for files a spreadsheet program saved: zipped at zipfile's default level, as
    # Excel and WPS zip theirs (and as every return measured before the fifteenth pass), not at the
    # lighter level pdreport zips its own workbooks with.
    fastsheet.ZIP_LEVEL = 6


class _Recorder:
    """Records the cells (not formats) a template render writes: the 'same cells' the bare
    xlsxwriter loop writes. ``FastWorksheet``'s lean paths (write_string, write_number,
    write_values) store cells without xlsxwriter's ``_write_*``: they are recorded where they are
    called, and what they hand on to xlsxwriter is then not recorded twice."""

    def __init__(self):
        import xlsxwriter.worksheet as w

        from pdreport.template.fastsheet import FastWorksheet

        self.w, self.fast = w, FastWorksheet
        self.cells: list[tuple] = []
        self.saved = {n: getattr(w.Worksheet, n) for n in ("_write_string", "_write_number", "_write_formula")}
        self.saved_fast = {n: FastWorksheet.__dict__[n] for n in ("write_string", "write_number", "write_values")}

    def __enter__(self):
        cells, saved, fast = self.cells, self.saved, self.saved_fast
        inside = [0]  # > 0 within a FastWorksheet call that recorded its cells itself

        def string(ws, row, col, s, fmt=None):
            if not inside[0]:
                cells.append((ws.name, "s", row, col, s))
            return saved["_write_string"](ws, row, col, s, fmt)

        def number(ws, row, col, x, fmt=None):
            if not inside[0]:
                cells.append((ws.name, "n", row, col, x))
            return saved["_write_number"](ws, row, col, x, fmt)

        def formula(ws, row, col, f, fmt=None, value=0):
            if not inside[0]:
                cells.append((ws.name, "f", row, col, (f, value)))
            return saved["_write_formula"](ws, row, col, f, fmt, value)

        def lean(name, kind):
            def call(ws, *args, **kwargs):
                if len(args) < 3 or args[0].__class__ is not int or args[1].__class__ is not int:
                    return fast[name](ws, *args, **kwargs)  # (A1 notation: recorded by _write_*)
                row, col, value = args[:3]
                if name == "write_values":
                    for i, v in enumerate(value):
                        if v.__class__ is str:
                            cells.append((ws.name, "s", row, col + i, v))
                        elif v.__class__ in (int, float):
                            cells.append((ws.name, "n", row, col + i, v))
                else:
                    cells.append((ws.name, kind, row, col, value))
                inside[0] += 1
                try:
                    return fast[name](ws, *args, **kwargs)
                finally:
                    inside[0] -= 1
            return call

        self.w.Worksheet._write_string = string
        self.w.Worksheet._write_number = number
        self.w.Worksheet._write_formula = formula
        for name, kind in (("write_string", "s"), ("write_number", "n"), ("write_values", "")):
            setattr(self.fast, name, lean(name, kind))
        return self

    def __exit__(self, *exc):
        for n, f in self.saved.items():
            setattr(self.w.Worksheet, n, f)
        for n, f in self.saved_fast.items():
            setattr(self.fast, n, f)


def _fill_chunk(task: tuple[int, list, str]) -> int:
    """Write the filled returns of one chunk of respondents; record their template cells."""
    from pdreport.template import build_layout, render_workbook, template_filename

    index, items, folder = task
    plan = _PLAN
    period = plan.period(PERIOD)
    recorded = []
    for rid, values in items:
        resp = plan.respondent(rid)
        layout = build_layout(plan, resp, period)
        with _Recorder() as rec:
            render_workbook(layout, STAMP)
        sheets = list(dict.fromkeys(c[0] for c in rec.cells))
        recorded.append((rid, sheets, rec.cells))
        data = render_workbook(layout, STAMP, values)
        path = Path(folder) / "returns" / template_filename(period, resp)
        path.write_bytes(data)
    with open(Path(folder) / "cells" / f"{index:05d}.pkl", "wb") as fh:
        pickle.dump(recorded, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return len(items)


def build_corpus(n: int, workers: int | None = None, log=print) -> tuple[Path, Plan]:
    """``<cache>/<key>/returns`` holding n filled returns (one per respondent of the plan for n),
    and ``cells/`` with each respondent's template cells; built once and reused."""
    from pdreport.demo import demo_values
    from pdreport.plan import load_plan

    plan = load_plan(None) if n == 58 else synthetic_plan(n)
    folder = cache_root() / corpus_key(n)
    done = folder / "DONE"
    if done.exists():
        return folder, plan
    import shutil
    import time

    t0 = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "returns").mkdir(parents=True)
    (folder / "cells").mkdir()
    period = plan.period(PERIOD)
    filled = demo_values(plan, period)
    items = [(rid, f.values) for rid, f in filled.items()]
    tasks = [(i, items[k:k + CHUNK], str(folder)) for i, k in enumerate(range(0, len(items), CHUNK))]
    plan_bytes = pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)
    with ProcessPoolExecutor(workers or os.cpu_count() or 2, initializer=_init_worker,
                             initargs=(plan_bytes,)) as pool:
        for _ in pool.map(_fill_chunk, tasks):
            pass
    done.write_text(f"{n} returns\n")
    log(f"  generated {n} filled returns in {time.perf_counter() - t0:.1f} s -> {folder}")
    return folder, plan


def recorded_cells(folder: Path):
    """(respondent id, sheet names, cells) for every respondent, one chunk at a time."""
    for p in sorted((Path(folder) / "cells").glob("*.pkl")):
        with open(p, "rb") as fh:
            yield pickle.load(fh)
