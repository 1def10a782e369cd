"""Consolidation at city scale: how close pdreport gets to the cost of just reading the files.

    python benchmarks/run.py                      # N = 58, 1,000 and 10,000 (about 10 minutes)
    python benchmarks/run.py --sizes 58,1000      # a quick run
    python benchmarks/run.py --runs 5 --json out.json

For every N the script builds (once; cached under $TMPDIR/pdreport-bench, see synth.py) a
synthetic plan with N respondents and one filled return per respondent, then, in fresh child
processes and ``--runs`` times, measures:

(a) the floor: a bare python-calamine loop reading every sheet of every file (plain loop, and
    the same with a thread pool; the faster of the two is the floor), measured just before and
    just after (b)-(d) and averaged, so that a drift in the machine's speed during a run does
    not tilt its ratios;
(b) pdreport intake + validation: ``collect()`` (guard, read, identify, validate, de-duplicate);
(c) assessment: ``assess()``;
(d) writing 汇总表.xlsx and the Word report (and the rest of ``consolidate()``: problem list,
    data table, feedback copies, snapshot); the whole ``consolidate()`` call (from 400 returns
    汇总表 is rendered in a forked child meanwhile: its row is the wait);
(e) template generation (``generate_templates``) against a bare xlsxwriter loop writing the
    same cells (recorded from the real templates) without formats, validations or metadata;

and the peak RSS of the consolidating process. Separately it times the real command on the
bundled samples in a fresh interpreter:
``python -m pdreport consolidate sample_workbooks --period 2024H1 -o …``.

Times are medians over the runs; each ratio is the median of the per-run ratios (numerator and
denominator measured in the same run).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {
    "intake_ratio": 2.0,  # intake + validation / floor, at 10,000
    "consolidate_ratio": 3.0,  # whole consolidate / floor, at 10,000
    "templates_ratio": 1.3,  # generate_templates / bare xlsxwriter loop
    "rss_mb": 1536,  # peak RSS of consolidate at 10,000
    "e2e_s": 1.5,  # 58 respondents, fresh process, wall
}


# -- children (each measurement in a fresh process) ---------------------------------------------------


def _peak_rss_mb(who: str = "self") -> float:
    import resource

    if who == "self":
        # Linux keeps ru_maxrss across exec: a child measurement would start from the RSS of the
        # runner that started it (260 MB after it generated a 10,000-return corpus, against 120 MB
        # with the corpus cached). VmHWM is this process's own peak.
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
    kind = resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN
    kb = resource.getrusage(kind).ru_maxrss  # KiB on Linux; children: the largest one
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "returns").iterdir() if p.is_file())


def child_floor(folder: Path, workers: int) -> dict:
    """(a) the bare read: every sheet of every file, nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    from python_calamine import CalamineWorkbook

    files = [str(p) for p in _files(folder)]

    def read(path: str) -> int:
        book = CalamineWorkbook.from_path(path)
        n = 0
        for name in book.sheet_names:
            n += len(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
        return n

    t = time.perf_counter()
    for p in files:
        read(p)
    single = time.perf_counter() - t
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(read, files))
    threaded = time.perf_counter() - t
    return {"floor_single": single, "floor_threads": threaded, "floor": min(single, threaded),
            "floor_rss_mb": _peak_rss_mb()}  # fmt: skip


def child_consolidate(folder: Path) -> dict:
    """(b)-(d): one real ``consolidate()`` call, its stages timed by wrapping the functions it calls."""
    import pickle

    plan = pickle.loads((folder / "plan.pkl").read_bytes())
    base_rss = _peak_rss_mb()
    import pdreport.consolidate as C
    import pdreport.report.render as R
    import pdreport.summary as S

    times: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    C.collect = timed("intake", C.collect)
    C.assess = timed("assess", C.assess)
    C.write_intake_outputs = timed("intake_outputs", C.write_intake_outputs)
    S.render_summary = timed("summary", S.render_summary)
    R.render_report = timed("report", R.render_report)
    C.write_report = timed("report_write", C.write_report)
    C.write_assessment_outputs = timed("assessment_outputs", C.write_assessment_outputs)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run = C.consolidate(plan, folder / "returns", Path(out) / "汇总", "2024H1")
        total = time.perf_counter() - t
        sizes = {p.name: p.stat().st_size for p in run.outputs.files.values()}
    counts = run.collection.counts
    return {"consolidate": total, **times, "rss_mb": _peak_rss_mb(), "rss_before_mb": base_rss,
            "rss_child_mb": _peak_rss_mb("children"),
            "accepted": counts["accepted"], "received": counts["received"],
            "findings": len(run.collection.findings), "output_bytes": sum(sizes.values())}  # fmt: skip


def child_templates(folder: Path) -> dict:
    """(e): generate_templates for every respondent vs a bare xlsxwriter loop writing the same cells."""
    import pickle

    import xlsxwriter

    from benchmarks.synth import PERIOD, STAMP, recorded_cells
    from pdreport.template import generate_templates

    plan = pickle.loads((folder / "plan.pkl").read_bytes())
    period = plan.period(PERIOD)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        files = generate_templates(plan, period, Path(out) / "templates", generated_at=STAMP)
        gen = time.perf_counter() - t
    assert len(files) == len(plan.respondents)
    bare = 0.0
    with tempfile.TemporaryDirectory() as out:
        for chunk in recorded_cells(folder):  # loading the recordings is not timed
            t = time.perf_counter()
            for rid, sheets, cells in chunk:
                wb = xlsxwriter.Workbook(os.path.join(out, rid + ".xlsx"), {"in_memory": True})
                ws = {name: wb.add_worksheet(name) for name in sheets}
                for sheet, kind, row, col, value in cells:
                    if kind == "s":
                        ws[sheet].write_string(row, col, value)
                    elif kind == "n":
                        ws[sheet].write_number(row, col, value)
                    else:
                        ws[sheet].write_formula(row, col, value[0], None, value[1])
                wb.close()
            bare += time.perf_counter() - t
    return {"templates": gen, "bare_writer": bare}


def child_main(kind: str, folder: Path, workers: int) -> None:
    if kind == "floor":
        result = child_floor(folder, workers)
    elif kind == "consolidate":
        result = child_consolidate(folder)
    elif kind == "templates":
        result = child_templates(folder)
    else:
        raise SystemExit(f"unknown child {kind}")
    print(json.dumps(result))


# -- parent ----------------------------------------------------------------------------------------------


def _child(kind: str, folder: Path, workers: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--folder", str(folder),
           "--workers", str(workers)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child {kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def warm_bytecode() -> None:
    """Compile pdreport's modules once, as Python does on a user's first run (an editable install
    is not compiled by pip, and this machine sets PYTHONDONTWRITEBYTECODE): otherwise every
    "fresh process" below would also compile ~12,000 lines of source (about 0.2 s)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "pdreport")], env=env,
                   capture_output=True, cwd=ROOT)  # fmt: skip


def e2e_samples() -> float:
    """Wall time of the real command on the bundled 58-respondent samples, fresh interpreter."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "pdreport", "consolidate", "sample_workbooks", "--period", "2024H1",
               "-o", str(Path(out) / "out")]  # fmt: skip
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"pdreport consolidate failed:\n{proc.stderr}")
    return wall


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        import psutil

        mem = f", {psutil.virtual_memory().total / 2**30:.0f} GB RAM"
    except ImportError:
        pass
    # (the floor is python-calamine's speed: a new release moves every ratio, so it is named)
    libs = []
    for dist in ("python-calamine", "xlsxwriter", "openpyxl"):
        try:
            libs.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {', '.join(libs)}")  # fmt: skip


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="58,1000,10000", help="comma-separated N (default 58,1000,10000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported")
    ap.add_argument("--template-runs", type=int, default=None,
                    help="runs of (e) at N >= 10,000 (default: --runs); it is the slowest part")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="threads of the bare threaded read")
    ap.add_argument("--no-templates", action="store_true", help="skip (e)")
    ap.add_argument("--e2e-runs", type=int, default=5, help="runs of the 58-respondent command")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child, args.folder, args.workers)
        return 0

    import pickle

    from benchmarks.synth import build_corpus

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"machine: {machine()}", flush=True)
    warm_bytecode()
    results: dict = {"machine": machine(), "runs": args.runs, "sizes": {}}
    for n in sizes:
        print(f"\nN = {n:,}: preparing corpus …", flush=True)
        folder, plan = build_corpus(n, log=lambda m: print(m, flush=True))
        # written afresh each time: the pickle carries the plan's indexes, built by this code version
        (folder / "plan.pkl").write_bytes(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL))
        runs: list[dict] = []
        for r in range(args.runs):
            # the floor measured just before and just after, averaged: the machine's speed drifts
            # over a run (other tenants), and a ratio should compare like with like
            before = _child("floor", folder, args.workers)
            cons = _child("consolidate", folder, args.workers)
            after = _child("floor", folder, args.workers)
            floor = {k: (before[k] + after[k]) / 2 for k in before}
            floor["floor_before"], floor["floor_after"] = before["floor"], after["floor"]
            row = {**floor, **cons}
            print(f"  run {r + 1}: floor {row['floor']:.2f} s ({before['floor']:.2f} before, "
                  f"{after['floor']:.2f} after), intake {row['intake']:.2f} s, "
                  f"consolidate {row['consolidate']:.2f} s, peak RSS {row['rss_mb']:.0f} MB", flush=True)
            runs.append(row)
        tpl_runs: list[dict] = []
        if not args.no_templates:
            k = args.template_runs if (args.template_runs and n >= 10_000) else args.runs
            for r in range(k):
                tpl = _child("templates", folder, args.workers)
                print(f"  templates run {r + 1}: generate_templates {tpl['templates']:.2f} s, "
                      f"bare xlsxwriter {tpl['bare_writer']:.2f} s", flush=True)
                tpl_runs.append(tpl)
        results["sizes"][n] = summarise(n, runs, tpl_runs)
    e2e = [e2e_samples() for _ in range(max(args.e2e_runs, 1))]
    results["e2e_58_s"] = _median(e2e)
    results["e2e_58_all"] = e2e
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


def summarise(n: int, runs: list[dict], tpl_runs: list[dict]) -> dict:
    med = {k: _median([r[k] for r in runs if k in r]) for k in runs[0]} if runs else {}
    out = {"n": n, "median": med}
    if runs:
        out["intake_ratio"] = _median([r["intake"] / r["floor"] for r in runs])
        out["consolidate_ratio"] = _median([r["consolidate"] / r["floor"] for r in runs])
        out["assess_ratio"] = _median([r["assess"] / r["floor"] for r in runs])
        out["outputs_ratio"] = _median([(r["consolidate"] - r["intake"] - r["assess"]) / r["floor"] for r in runs])
    if tpl_runs:
        out["templates_s"] = _median([t["templates"] for t in tpl_runs])
        out["bare_writer_s"] = _median([t["bare_writer"] for t in tpl_runs])
        out["templates_ratio"] = _median([t["templates"] / t["bare_writer"] for t in tpl_runs])
    return out


def report(results: dict) -> str:
    lines = ["", f"Machine: {results['machine']}", f"Medians of {results['runs']} runs.", ""]
    head = f"{'':44}" + "".join(f"{'N=' + format(int(n), ','):>16}" for n in results["sizes"])
    lines.append(head)

    def row(label, fn):
        cells = []
        for s in results["sizes"].values():
            try:
                cells.append(fn(s))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("—")
        lines.append(f"{label:44}" + "".join(f"{c:>16}" for c in cells))

    m = lambda k: (lambda s: f"{s['median'][k]:.2f} s")  # noqa: E731
    row("(a) bare calamine read, plain loop", m("floor_single"))
    row("(a) bare calamine read, threads", m("floor_threads"))
    row("(a) floor = faster of the two", m("floor"))
    row("(b) intake + validation", lambda s: f"{s['median']['intake']:.2f} s ×{s['intake_ratio']:.2f}")
    row("(c) assessment", lambda s: f"{s['median']['assess']:.2f} s ×{s['assess_ratio']:.2f}")
    row("    problem list, data table, feedback", m("intake_outputs"))
    row("(d) Word report (after the above)", m("report_write"))
    row("(d) 汇总表.xlsx + snapshot (then; from 400", m("assessment_outputs"))
    row("    returns rendered meanwhile in a child)", lambda s: "")
    row("whole consolidate()", lambda s: f"{s['median']['consolidate']:.2f} s ×{s['consolidate_ratio']:.2f}")
    row("peak RSS of consolidate", lambda s: f"{s['median']['rss_mb']:.0f} MB")
    row("peak RSS of its largest child", lambda s: f"{s['median']['rss_child_mb']:.0f} MB")
    row("per return, intake", lambda s: f"{s['median']['intake'] / s['n'] * 1e3:.2f} ms")
    row("per return, consolidate", lambda s: f"{s['median']['consolidate'] / s['n'] * 1e3:.2f} ms")
    row("(e) bare xlsxwriter loop, same cells", lambda s: f"{s['bare_writer_s']:.2f} s")
    row("(e) generate_templates", lambda s: f"{s['templates_s']:.2f} s ×{s['templates_ratio']:.2f}")
    lines.append(f"\n58 respondents end to end (python -m pdreport consolidate sample_workbooks, fresh "
                 f"process, wall): {results['e2e_58_s']:.2f} s")  # fmt: skip
    lines.append("")
    lines.append("Targets:")
    sizes = results["sizes"]
    big = sizes.get(max(sizes)) if sizes else None
    if big:
        n = f"N={big['n']:,}"
        lines.append(_target(f"intake + validation ≤ 2.0 × floor ({n})", big.get("intake_ratio"), TARGETS["intake_ratio"], "×"))
        lines.append(_target(f"whole consolidate ≤ 3.0 × floor ({n})", big.get("consolidate_ratio"), TARGETS["consolidate_ratio"], "×"))
        lines.append(_target(f"peak RSS < 1.5 GB ({n})", big["median"].get("rss_mb"), TARGETS["rss_mb"], " MB"))
        if "templates_ratio" in big:
            lines.append(_target(f"templates ≤ 1.3 × bare xlsxwriter ({n})", big["templates_ratio"], TARGETS["templates_ratio"], "×"))
    if len(sizes) >= 2:
        a, b = sorted(sizes)[-2:]
        pa = sizes[a]["median"]["consolidate"] / a
        pb = sizes[b]["median"]["consolidate"] / b
        lines.append(f"  linear in N: consolidate per return {pa * 1e3:.2f} ms at N={a:,}, "
                     f"{pb * 1e3:.2f} ms at N={b:,} (×{pb / pa:.2f})")  # fmt: skip
    lines.append(_target("58 end to end, fresh process ≤ 1.5 s", results["e2e_58_s"], TARGETS["e2e_s"], " s"))
    return "\n".join(lines)


def _target(label: str, value, limit, unit: str) -> str:
    if value is None:
        return f"  {label}: not measured"
    ok = "met" if value <= limit else "MISSED"
    shown = f"{value:.2f}{unit}" if unit != " MB" else f"{value:.0f}{unit}"
    return f"  {label}: {shown} — {ok}"


if __name__ == "__main__":
    sys.exit(main())
