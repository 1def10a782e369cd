"""Feedback copies (退回修改) at scale: one process against one worker process per core.

    python benchmarks/feedback.py                      # 500 returns of the 1,000 corpus, a fifth with errors
    python benchmarks/feedback.py --returns 100 --every 2 --runs 1

The synthetic returns of ``run.py`` are all clean, so ``consolidate`` writes no feedback copies
there. Here a share of them is treated as having errors (every ``--every``-th validated return
is marked so; the copy is built exactly as for a real one: the office's workbook loaded and saved
with openpyxl, its 退回说明 sheet written), and ``write_feedback`` is timed with the copies built
in this process and in worker processes (``workers.Ahead``), alternating, ``--runs`` times each.
Prints seconds, ms per copy and the ratio; the copies of both are compared byte for byte.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=int, default=1000, help="synthetic corpus to take returns from (run.py's N)")
    ap.add_argument("--returns", type=int, default=500, help="returns to collect from it")
    ap.add_argument("--every", type=int, default=5, help="every n-th return is treated as having errors")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args(argv)

    import pdreport.collect as collect_mod
    import pdreport.feedback as feedback
    from benchmarks.synth import PERIOD, build_corpus

    corpus, plan = build_corpus(args.corpus)
    real = collect_mod.validate_submission
    seen = [0]

    def validate(raw, plan, period):
        sub, found = real(raw, plan, period)
        seen[0] += 1
        if seen[0] % args.every == 0:
            sub.has_errors = True  # (so the raw is kept and a copy is built, as for a real error)
        return sub, found

    collect_mod.validate_submission = validate
    with tempfile.TemporaryDirectory() as tmp:
        returns = Path(tmp) / "returns"
        returns.mkdir()
        for p in sorted((corpus / "returns").iterdir())[: args.returns]:
            shutil.copy(p, returns)
        col = collect_mod.collect(plan, returns, PERIOD, workers=2)  # threads: validated here
        copies = sum(sub.has_errors for sub in col.submissions.values())
        print(f"{len(col.submissions)} returns, {copies} feedback copies")
        times: dict[str, list[float]] = {"one process": [], "worker processes": []}
        outputs: dict[str, list[bytes]] = {}
        minimum = feedback.PROCESS_MIN_COPIES
        for r in range(args.runs):
            for label, min_copies in (("one process", 10**9), ("worker processes", minimum)):
                feedback.PROCESS_MIN_COPIES = min_copies
                out = Path(tmp) / f"{label}-{r}"
                t = time.perf_counter()
                paths = feedback.write_feedback(col, out)
                times[label].append(time.perf_counter() - t)
                outputs[label] = [p.read_bytes() for p in paths]
        feedback.PROCESS_MIN_COPIES = minimum
    if outputs["one process"] != outputs["worker processes"]:
        print("the copies differ", file=sys.stderr)
        return 1
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:18s} {med:6.2f} s  ({med / max(copies, 1) * 1000:.0f} ms a copy; runs: "
              + ", ".join(f"{t:.2f}" for t in ts) + ")")
    ratio = statistics.median(times["one process"]) / statistics.median(times["worker processes"])
    print(f"worker processes are {ratio:.2f} × as fast; the copies are byte-identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
