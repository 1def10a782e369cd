"""Collect a folder of returned workbooks: guard → read → identify → validate → de-duplicate.

One bad file never stops the others: every per-file step turns problems into
findings. Reading runs in threads (calamine releases the GIL); validation is pure
Python and cheap. Inputs are only ever opened for reading.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import UsageError, os_error_text
from .findings import Code, Finding, safe_text
from .intake.clean import is_blank
from .intake.guard import GuardResult, guard_file
from .intake.identify import identify, period_mismatch, respondent_named_in
from .intake.read import ReadError, computed_cells, open_workbook
from .intake.records import RawSubmission, Submission, cell_rowcol, extract, newest_last
from .outputs import OUTPUT_MARKER, gc_paused, is_output_folder
from .plan.model import Period, Plan
from .template.layout import DISTRIBUTION_SHEET
from .validate import field_unit, validate_submission
from .workers import Forked, die_with_parent, discard_stderr

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xltx", ".xlsb"}

ACCEPTED, SUPERSEDED, REJECTED = "已采用", "重复（未采用）", "无法采用"
# an earlier return of an office that has since sent back its corrected 退回修改 copy: not a duplicate
REPLACED = "已由更正稿替换"
# a return of another period from an office whose return of this period was taken in (last
# quarter's file left in the folder): nothing against the office, so no finding, only this status
OTHER_PERIOD = "其他报送期，未采用"
# a blank template (E114) from an office whose filled-in return was taken in: likewise no finding
BLANK = "空表（未填写），未采用"
# the 分发清单.xlsx ``pdreport templates`` writes beside the templates, copied along with them:
# no return of anyone, and nothing wrong with it
LISTING = "分发清单，不是填报表（未读取）"

# Tests set this to True so that a bug surfaces instead of becoming a finding on the file.
_RAISE_UNEXPECTED = False


@dataclass
class FileOutcome:
    file: str
    status: str
    respondent: str = ""
    kind: str = ""
    errors: int = 0
    warnings: int = 0
    guessed: bool = False  # respondent read from the file's name (the file itself could not say)
    blank: bool = False  # a template sent back with nothing filled in (E114)
    correction: bool = False  # a corrected 退回修改 copy sent back (``records.is_correction``)

    def owner(self, names: dict[str, str]) -> str:
        """Whose file this is, as every output names it: "区金融局（按文件名判断）" for a guess."""
        name = names.get(self.respondent, self.respondent)
        return f"{name}（按文件名判断）" if self.guessed and name else name


@dataclass
class Collection:
    plan: Plan
    period: Period
    folder: Path
    submissions: dict[str, Submission] = field(default_factory=dict)  # respondent id → accepted
    # file → raw, for the accepted returns with errors: what their feedback copies are built from
    raws: dict[str, RawSubmission] = field(default_factory=dict)
    outcomes: list[FileOutcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # respondent ids with no usable return
    skipped: list[str] = field(default_factory=list)  # sub-folders not read: output folders (``scan``)

    def other_period(self) -> tuple[Period, int] | None:
        """(the period, how many) when most files that could not be used are returns of one other
        period of the plan, and they outnumber this period's returns: a wrong ``--period``, most
        likely; else None (last quarter's returns left among this one's are normal)."""
        found = self._mostly(Code.PERIOD_MISMATCH)
        if found is None:
            return None
        pid, n = found
        period = next((p for p in self.plan.periods if pid in (p.label, p.id)), None)  # (E104 shows the label)
        return (period, n) if period is not None else None

    def other_plan(self) -> tuple[str, int] | None:
        """(the plan id, how many) when most files that could not be used are returns made from one
        other plan (E103), and they outnumber the returns of this plan: a forgotten ``--plan``."""
        return self._mostly(Code.PLAN_MISMATCH)

    def mostly_blank(self) -> int | None:
        """How many files are blank templates (E114) when they outnumber the returns that could be
        used: the folder the templates were written to, most likely, not the one they came back to."""
        n = sum(o.blank for o in self.outcomes)
        ours = sum(o.status not in (REJECTED, BLANK, LISTING) for o in self.outcomes)
        return n if n > ours else None

    def _mostly(self, code: Code) -> tuple[str, int] | None:
        """The value most findings of ``code`` share and how many files have it, when those files
        outnumber the returns that could be used and are most of those that could not."""
        seen = Counter(f.value for f in self.findings if f.code is code)
        if not seen:
            return None
        value, n = seen.most_common(1)[0]
        ours = sum(o.status != REJECTED for o in self.outcomes)
        rejected = len(self.outcomes) - ours
        return (value, n) if n > ours and 2 * n > rejected else None

    def findings_for(self, file: str) -> list[Finding]:
        return [f for f in self.findings if f.file == file]

    @property
    def counts(self) -> dict[str, int]:
        files = self.outcomes
        return {
            "received": len(files),
            "accepted": sum(o.status == ACCEPTED for o in files),
            "with_errors": sum(o.status == ACCEPTED and o.errors > 0 for o in files),
            "rejected": sum(o.status == REJECTED for o in files),
            "superseded": sum(o.status == SUPERSEDED for o in files),
            "replaced": sum(o.status == REPLACED for o in files),
            "other_period": sum(o.status == OTHER_PERIOD for o in files),
            "blank": sum(o.status == REJECTED and o.blank for o in files),  # (among "rejected")
            "blank_beside": sum(o.status == BLANK for o in files),
            "listing": sum(o.status == LISTING for o in files),
            "missing": len(self.missing),
            "respondents": len(self.plan.respondents),
        }


@dataclass
class _Read:
    """Pass 1 result for one file."""

    file: str
    kind: str = ""
    raw: RawSubmission | None = None
    findings: list[Finding] = field(default_factory=list)
    validated: tuple | None = None  # (period id, validate_submission's result) from a worker process
    listing: bool = False  # the templates' 分发清单 (``LISTING``)


def display_name(rel: str) -> str:
    """A file's relative path as text every writer and terminal accepts: bytes that are not UTF-8
    (kept by Python as lone surrogates), control characters and the invisible characters that
    reorder text (U+202E would show "三林镇<U+202E>xslx.exe" as "三林镇exe.xslx", a name nobody
    finds in the folder) become U+FFFD."""
    try:
        text = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        text = rel.encode("utf-8", "replace").decode("utf-8")
    return safe_text(text.translate(_UNSHOWN), 3000)


# tab and line breaks, and the bidirectional formatting characters (embeddings, overrides, isolates, marks)
_UNSHOWN = dict.fromkeys([0x09, 0x0A, 0x0D, 0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)],
                         "\ufffd")  # fmt: skip


def scan(folder: Path, exclude: tuple[Path, ...] = (), skipped: list[str] | None = None) -> list[tuple[str, Path]]:
    """Every entry to look at, sorted, as (display name, path); symlinks and special files included
    (the guard refuses them). Display names are unique and safe to write anywhere. ``skipped``, if
    given, receives the sub-folders left out as output folders (``.pdreport-output``; ``exclude``
    not counted), as display names."""
    entries = _walk(Path(folder), exclude, skipped)
    out: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for rel, p in entries:
        name = display_name(rel)
        base, n = name, 1
        while name in seen:  # two names that differ only in undecodable bytes
            n += 1
            name = f"{base}（{n}）"
        seen.add(name)
        out.append((name, p))
    return out


def _exists(path: Path) -> bool:
    """``path.exists()``, False also where the path cannot be looked up (a name too long for the
    file system, say: nothing by that name can be there to exclude)."""
    try:
        return path.exists()
    except OSError:
        return False


def _walk(folder: Path, exclude: tuple[Path, ...], skipped: list[str] | None = None) -> list[tuple[str, Path]]:
    # (relative names joined as text: a Path and a relative_to per file took 0.3 s at 10,000 files,
    # before any worker could start)
    skip = {p.resolve() for p in exclude if _exists(p)}
    out: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        rel_root = os.path.relpath(root, folder)
        prefix = "" if rel_root == os.curdir else rel_root + os.sep
        keep = []
        for d in sorted(dirs):
            p = root_path / d
            if d.startswith(".") or p.resolve() in skip:
                continue
            if not _can_list(p):  # reported by the guard (a folder it cannot open), not passed over
                out.append((prefix + d, p))
                continue
            if is_output_folder(p):  # (an earlier run's outputs: its 退回修改 copies are not returns)
                if skipped is not None:
                    skipped.append(display_name(prefix + d))
                continue
            if p.is_symlink() or Path(d).suffix.lower() in WORKBOOK_SUFFIXES:
                out.append((prefix + d, p))  # not descended into: reported
            else:
                keep.append(d)
        dirs[:] = keep
        for name in files:
            if name.startswith(("~$", "._")) or (name.startswith(".") and not _hidden_workbook(name)):
                continue  # Office lock files, macOS resource forks, hidden files (our temp files)
            out.append((prefix + name, Path(root, name)))
    return sorted(out)


def _can_list(folder: Path) -> bool:
    """Whether the files of ``folder`` can be listed and opened (os.walk would pass over one that
    cannot, and its returns with it; a folder that is a symlink is not looked into anyway)."""
    try:
        return folder.is_symlink() or os.access(folder, os.R_OK | os.X_OK)
    except (OSError, ValueError):
        return False


def _hidden_workbook(name: str) -> bool:
    """A name starting with "." that still claims to be a workbook (".xlsx", "..\\x.xlsx"): read
    and reported like any other, never silently skipped."""
    return Path(name).suffix.lower() in WORKBOOK_SUFFIXES or name.lower() in WORKBOOK_SUFFIXES


def check_input_folder(folder: Path, exclude: tuple[Path, ...] = ()) -> None:
    """UsageError when the folder of returns is an output folder (this run's or an earlier one's):
    the outputs would be read back as returns on the next run."""
    here = folder.resolve()
    if any(Path(e).resolve() == here for e in exclude):
        raise UsageError(f"输出目录不能就是填报表文件夹（{folder}）：下次汇总时会把输出当作填报表读入。"
                         "请另选输出目录，如 -o 汇总结果")  # fmt: skip
    if is_output_folder(folder):
        raise UsageError(f"{folder} 是 pdreport 的输出文件夹（其中有标记文件 {OUTPUT_MARKER}，是汇总时写入的），"
                         "不是收回的填报表文件夹；请指定存放填报表的文件夹。如果这里确实是收回的填报表，删除标记文件 "
                         f"{folder / OUTPUT_MARKER}（文件名以“.”开头，有的系统默认不显示）后重新运行")  # fmt: skip


def _read_one(rel: str, path: Path, plan: Plan, period_id: str | None) -> _Read:
    try:
        return _read_one_inner(rel, path, plan, period_id)
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
        if _RAISE_UNEXPECTED:
            raise
        return _Read(rel, findings=[_unexpected(rel, exc)])


def _unexpected(rel: str, exc: Exception) -> Finding:
    return Finding(Code.CORRUPT, f"文件内容异常，无法读取（{type(exc).__name__}）",
                   "请用 Excel 或 WPS 打开检查后另存为 .xlsx 再发送；仍有问题时改用新下发的模板重新填写",
                   file=rel)  # fmt: skip


def _read_one_inner(rel: str, path: Path, plan: Plan, period_id: str | None) -> _Read:
    guarded = guard_file(path)  # (never raises: everything wrong is a finding)
    if not guarded.findings and guarded.dates_out_of_range and guarded.kind in ("xlsx", "xlsm"):
        guarded = guard_file(path, for_openpyxl=True)  # read with openpyxl (read.py): check it for that
    if guarded.findings:
        return _Read(rel, guarded.kind, findings=[f.located(file=rel) for f in guarded.findings])
    if guarded.kind == "xls":  # (calamine's .xls reader panics on some damaged files: quietly)
        return _read_quietly(rel, path, guarded, plan, period_id)
    return _read_guarded(rel, path, guarded, plan, period_id)


def _read_guarded(rel: str, path: Path, guarded: GuardResult, plan: Plan, period_id: str | None) -> _Read:
    result = _Read(rel, guarded.kind)
    whose = ""  # once identified: every finding of the file is the office's (one attribution everywhere)
    try:
        engine = "openpyxl" if guarded.dates_out_of_range and guarded.kind in ("xlsx", "xlsm") else "calamine"
        wb = open_workbook(path, guarded.data, engine)
        if wb.sheet_names == [DISTRIBUTION_SHEET]:
            result.listing = True
            return result
        tmap, found = identify(wb, plan, period_id, rel)
        result.findings = found
        if tmap is None:
            return result
        whose = tmap.respondent_id
        mtime = guarded.mtime or path.stat().st_mtime  # (the guard's fstat: the file it read)
        result.raw = extract(wb, tmap, rel, guarded.kind, mtime)
        _explain_blanks(result.raw, guarded)
        _explain_merged(result.raw, wb)
        _find_percent_cells(result.raw, guarded)
    except ReadError as exc:
        result.findings.append(Finding(Code.CORRUPT, f"文件内容无法读取：{exc}",
                                       "请用 Excel 或 WPS 打开检查后另存为 .xlsx 再发送", file=rel,
                                       respondent=whose))  # fmt: skip
    except OSError as exc:
        result.findings.append(_unreadable(rel, exc).located(respondent=whose))
    return result


def _explain_blanks(raw: RawSubmission, guarded: GuardResult) -> None:
    """Required inputs that read as empty may hold a formula: looked up only then."""
    if guarded.kind not in ("xlsx", "xlsm", "ods", "xls") or guarded.data is None:
        return
    wanted: dict[str, set[str]] = {}
    for rv in raw.values:
        if rv.field.required and is_blank(rv.value):
            wanted.setdefault(rv.field.sheet, set()).add(rv.field.cell)
    if wanted:
        if raw.renamed:  # (looked up by the names the workbook gives the sheets)
            found = computed_cells(guarded.data, _by_book_name(raw, wanted), guarded.kind)
            raw.computed = {(_template_name(raw, sheet), cell): c for (sheet, cell), c in found.items()}
        else:
            raw.computed = computed_cells(guarded.data, wanted, guarded.kind)


def _explain_merged(raw: RawSubmission, wb) -> None:
    """Required inputs and labels that read as empty may lie in cells the office merged (E5:E8
    showing "推进中": only E5 holds it; an item's name merged into the one above): looked up only
    then, so that the finding can say so."""
    wanted: dict[str, list[str]] = {}
    for rv in raw.values:
        f = rv.field
        if f.required and is_blank(rv.value) and (f.sheet, f.cell) not in raw.computed:
            wanted.setdefault(f.sheet, []).append(f.cell)
    for lb, seen in raw.labels_seen:
        if is_blank(seen) and lb.text.strip():
            wanted.setdefault(lb.sheet, []).append(lb.cell)
    if not wanted:
        return
    from xlsxwriter.utility import xl_rowcol_to_cell

    for sheet, cells in wanted.items():
        ranges = wb.merged_ranges(raw.sheet_in_book(sheet))
        for cell in cells:
            r, c = cell_rowcol(cell)
            for (r1, c1), (r2, c2) in ranges:
                if r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1):
                    raw.merged[(sheet, cell)] = f"{xl_rowcol_to_cell(r1, c1)}:{xl_rowcol_to_cell(r2, c2)}"
                    break


def _find_percent_cells(raw: RawSubmission, guarded: GuardResult) -> None:
    """% figures that read as a fraction (0 < |v| ≤ 1), and amounts up to 2 (50%, 100% or 120%
    typed into a 万平方米 cell is saved as 0.5, 1, 1.2): whether the cell shows a percentage is
    looked up only then."""
    if guarded.data is None or guarded.kind not in ("xlsx", "xlsm", "ods", "xls"):
        return
    wanted: dict[str, set[str]] = {}
    for rv in raw.values:
        v = rv.value
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < abs(v) <= 2:
            continue
        if (rv.field.unit == "%" and abs(v) <= 1) or (rv.field.kind == "number" and rv.field.unit != "%"
                                                      and field_unit(rv.field)):  # fmt: skip
            wanted.setdefault(rv.field.sheet, set()).add(rv.field.cell)
    if wanted:
        from .intake.cellformat import percent_cells

        if raw.renamed:
            found = percent_cells(guarded.data, guarded.kind, _by_book_name(raw, wanted))
            raw.percent = {(_template_name(raw, sheet), cell) for sheet, cell in found}
        else:
            raw.percent = percent_cells(guarded.data, guarded.kind, wanted)


def _by_book_name(raw: RawSubmission, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
    """``wanted`` keyed by the names the workbook gives the template's sheets (a renamed sheet)."""
    return {raw.sheet_in_book(sheet): cells for sheet, cells in wanted.items()}


def _template_name(raw: RawSubmission, name: str) -> str:
    return next((sheet for sheet, book in raw.renamed if book == name), name)


def _unreadable(rel: str, exc: OSError) -> Finding:
    return Finding(Code.UNREADABLE, f"文件无法打开（{os_error_text(exc)}）", "请检查文件权限或重新拷贝", file=rel)


QUIET_READ_SECONDS = 120  # a child forked beside reading threads could, in theory, never finish


def _read_quietly(rel: str, path: Path, guarded: GuardResult, plan: Plan, period_id: str | None) -> _Read:
    """An .xls: calamine's .xls reader panics on some damaged files (and on a number it cannot
    convert to a date); the panic is caught (the file or sheet becomes a finding), but Rust has
    already printed it, with a backtrace, on stderr. So an .xls is read in a forked child whose
    stderr goes nowhere, and the user sees the finding only (an .xls return is rare: the fork
    costs a few milliseconds). Where there is no fork, it is read here: the finding is the same."""
    import pickle

    def read() -> bytes:
        return pickle.dumps(_read_guarded(rel, path, guarded, plan, period_id), protocol=pickle.HIGHEST_PROTOCOL)

    return pickle.loads(Forked(read, setup=discard_stderr).result(timeout=QUIET_READ_SECONDS))


PROCESS_MIN_FILES = 400  # from this many files intake runs in worker processes (one per core)
PROCESS_CHUNK = 50  # files per task sent to a worker


def _read_all(entries: list[tuple[str, Path]], plan: Plan, period_id: str | None,
              progress: Callable[[str], None] | None, workers: int | None) -> list[_Read]:  # fmt: skip
    """Pass 1 over every file. Threads overlap the reads (calamine releases the GIL); the guard,
    the metadata and validation are Python, so a large folder is shared among processes instead."""
    cpus = os.cpu_count() or 1
    if workers is None and cpus > 1 and len(entries) >= PROCESS_MIN_FILES:
        reads = _read_in_processes(entries, plan, period_id, progress, cpus)
        if reads is not None:
            return reads
    reads = []
    with ThreadPoolExecutor(max_workers=workers or min(8, cpus * 2)) as pool:
        futures = [pool.submit(_read_one, rel, p, plan, period_id) for rel, p in entries]
        for fut in futures:
            reads.append(fut.result())
            if progress:
                progress(reads[-1].file)
    return reads


_WORKER_PLAN: Plan | None = None


def _init_worker(plan: Plan, raise_unexpected: bool, parent_pid: int) -> None:
    global _WORKER_PLAN, _RAISE_UNEXPECTED
    die_with_parent(parent_pid)
    _WORKER_PLAN, _RAISE_UNEXPECTED = plan, raise_unexpected
    gc.enable()  # (the parent pauses it while results arrive; here each file's garbage is freed)
    gc.freeze()  # the plan and everything else inherited: never rescanned by the collector here


def _read_chunk(chunk: list[tuple[str, Path]], period_id: str | None) -> list[_Read]:
    plan = _WORKER_PLAN
    out = []
    for rel, path in chunk:
        r = _read_one(rel, path, plan, period_id)
        if r.raw is not None and period_id and r.raw.tmap.period_id == period_id:
            try:
                r.validated = (period_id, validate_submission(r.raw, plan, plan.period(period_id)))
            except Exception:  # noqa: BLE001 - the main process validates it again and reports
                r.validated = None
            else:  # only feedback copies (returns with errors) read the raw: half of what
                if not r.validated[1][0].has_errors:  # would travel back to the parent
                    r.raw = None
        out.append(r)
    return out


def _read_in_processes(entries, plan, period_id, progress, cpus) -> list[_Read] | None:
    """``None`` when worker processes cannot be started here (the caller then uses threads)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:  # fork: the workers share the plan as it is, nothing to pickle or import
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        return None
    chunks = [entries[i:i + PROCESS_CHUNK] for i in range(0, len(entries), PROCESS_CHUNK)]
    reads: list[_Read] = []
    try:
        with gc_paused(), ProcessPoolExecutor(cpus, mp_context=ctx, initializer=_init_worker,
                                 initargs=(plan, _RAISE_UNEXPECTED, os.getpid())) as pool:  # fmt: skip
            for part in pool.map(_read_chunk, chunks, [period_id] * len(chunks)):
                for r in part:
                    reads.append(r)
                    if progress:
                        progress(r.file)
    except (OSError, BrokenProcessPool):
        if reads:
            raise
        return None
    return reads


def collect(
    plan: Plan,
    folder: Path,
    period_id: str | None = None,
    exclude: tuple[Path, ...] = (),
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> Collection:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"找不到文件夹：{folder}")
    check_input_folder(folder, exclude)
    asked = plan.period(period_id) if period_id else None  # an unknown period fails before reading
    period_id = asked.id if asked else None
    skipped: list[str] = []
    with gc_paused():  # (tens of thousands of objects built and kept: collector passes would be waste)
        entries = scan(folder, exclude, skipped)
    reads = _read_all(entries, plan, period_id, progress, workers)
    with gc_paused():
        return _sort_out(plan, folder, asked, reads, skipped)


def _sort_out(plan: Plan, folder: Path, asked: Period | None, reads: list[_Read], skipped: list[str]) -> Collection:
    """The collection from every file's read: one return kept per office, the rest accounted for."""
    period = asked or _majority_period(plan, reads, folder, skipped)
    col = Collection(plan, period, folder, skipped=skipped)
    candidates: dict[str, list[tuple[Submission, list[Finding]]]] = {}
    other_period: list[tuple[str, str, str, list[Finding]]] = []  # (respondent, file, kind, findings)
    blanks: list[tuple[str, str, str, list[Finding]]] = []  # the same, for blank templates (E114)
    for r in reads:
        if r.listing:
            col.outcomes.append(FileOutcome(r.file, LISTING, "", r.kind))
            continue
        findings = list(r.findings)
        done = r.validated is not None and r.validated[0] == period.id  # in a worker process
        if not done and r.raw is not None and r.raw.tmap.period_id != period.id:
            findings.append(period_mismatch(plan, r.file, r.raw.tmap, period.id))
            r.raw = None
        if r.raw is None and not done:
            rid = next((f.respondent for f in findings if f.code is Code.PERIOD_MISMATCH), "")
            if rid:  # another period's return: an error only if the office has none of this one (below)
                other_period.append((rid, r.file, r.kind, findings))
                continue
            col.outcomes.append(_rejected(plan, r.file, r.kind, findings))
            col.findings += findings
            continue
        try:
            if done:
                sub, found = r.validated[1]
            else:
                sub, found = validate_submission(r.raw, plan, period)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
            if _RAISE_UNEXPECTED:
                raise
            whose = r.raw.tmap.respondent_id if r.raw is not None else ""
            findings.append(_unexpected(r.file, exc).located(respondent=whose))
            col.outcomes.append(_rejected(plan, r.file, r.kind, findings))
            col.findings += findings
            continue
        if sub.blank:  # an error only if the office has no other return (below)
            blanks.append((sub.respondent, r.file, r.kind, findings + found))
            continue
        if sub.has_errors:
            col.raws[r.file] = r.raw
        candidates.setdefault(sub.respondent, []).append((sub, findings + found))
    for rid, subs in candidates.items():
        found_in = {id(sub): found for sub, found in subs}
        order = newest_last(sub for sub, _ in subs)
        kept = order[-1]
        kept_findings = found_in[id(kept)]
        col.submissions[rid] = kept
        kept.first_filled_on = min((s.filled_on for s in order if s.filled_on is not None), default=None)
        col.findings += kept_findings
        col.outcomes.append(_outcome(kept, kept_findings, ACCEPTED))
        by_time = any(sub.filled_on is None for sub in order)  # how newest_last ranked them
        for sub in order[:-1]:
            if kept.correction:  # the office did as its feedback copy asked: a correction, no duplicate
                col.outcomes.append(_outcome(sub, [], REPLACED))
                continue
            other = plan.respondent(sub.named_other).name if sub.named_other else ""
            note = _superseded_note(plan.respondent(rid).name, sub, kept, found_in[id(sub)], by_time, other)
            col.findings.append(note)
            col.outcomes.append(_outcome(sub, [note], SUPERSEDED))
    for rid, file, kind, findings in other_period:
        if rid in col.submissions:  # nothing from it is used, nor needed: not a problem of the office
            col.outcomes.append(FileOutcome(file, OTHER_PERIOD, rid, kind))
        else:  # its only return(s) are of another period: E104 tells it to fill this period's in
            col.outcomes.append(_rejected(plan, file, kind, findings))
            col.findings += findings
    for rid, file, kind, findings in blanks:
        if rid in col.submissions:
            col.outcomes.append(FileOutcome(file, BLANK, rid, kind, blank=True))
        else:  # E114 tells the office to fill it in; it is chased as 未报送 (E108)
            col.outcomes.append(replace(_rejected(plan, file, kind, findings), blank=True))
            col.findings += findings
    for r in plan.respondents:
        if r.id not in col.submissions:
            col.missing.append(r.id)
            col.findings.append(Finding(Code.MISSING_SUBMISSION, f"未收到{r.name}的有效填报表",
                                        "请联系该单位报送（见“催报名单”）", respondent=r.id))  # fmt: skip
    order = {r.id: i for i, r in enumerate(plan.respondents)}
    col.outcomes.sort(key=lambda o: o.file)
    col.findings.sort(key=lambda f: (order.get(f.respondent, -1), f.file, f.sheet, _cell_key(f.cell),
                                     f.code.code))  # fmt: skip
    return col



def default_report_date(period: Period, submissions) -> dt.date:
    """The date the report and the 退回修改 copies are dated by when ``--date`` is not given: the
    period's deadline, or the latest 填报日期 of a return taken in when that is later (a late
    return: a report "截至7月15日" could not count one filled on 7月25日, and copies answering it
    would give a 重新报送期限 before it was filled in). Mistyped dates (W213) are not used."""
    latest = max((s.filled_on for s in submissions if s.filled_on is not None), default=None)
    return max(period.deadline, latest) if latest is not None else period.deadline


def _rejected(plan: Plan, file: str, kind: str, findings: list[Finding]) -> FileOutcome:
    """A file that could not be used, with its problem counts, and whose it is: as its findings say
    (identified, yet unusable), else as its name says (an encrypted or broken file says nothing)."""
    errors = sum(f.is_error for f in findings)
    owner = next((f.respondent for f in findings if f.respondent), "")
    guess = "" if owner else respondent_named_in(plan, file)
    return FileOutcome(file, REJECTED, owner or guess, kind, errors, len(findings) - errors, bool(guess))


def _superseded_note(name: str, sub: Submission, kept: Submission, own: list[Finding],
                     by_time: bool, other: str = "") -> Finding:  # fmt: skip
    """W107 on the copy not used: which one was, why (as ``newest_last`` decided for the whole group:
    ``by_time`` when a date was unusable), and how many problems this copy had (not listed:
    nothing from it is used)."""
    if other and not kept.named_other:  # (W113 on this copy: not listed, so said here)
        basis = f"本份文件名中是“{other}”，可能是{other}用错了{name}的填报表，请与{other}核实"
    elif by_time:
        basis = "有一份的填报日期无法使用，按文件修改时间判断"
    elif sub.filled_on != kept.filled_on:
        basis = f"填报日期 {kept.filled_on.isoformat()} 晚于本份的 {sub.filled_on.isoformat()}"
    elif sub.mtime != kept.mtime:
        basis = "填报日期相同，按文件修改时间判断"
    else:
        basis = "填报日期和文件修改时间都相同，按文件名顺序采用排在后面的一份"
    errors = sum(f.is_error for f in own)
    extra = f"；本份另有错误 {errors} 条、提醒 {len(own) - errors} 条，未列出" if own else ""
    return Finding(Code.DUPLICATE, f"{name}报送了多份，已采用较新的一份：{kept.file}（{basis}）{extra}",
                   "如需采用本份，请把较新的一份移出回收文件夹后重新汇总", file=sub.file,
                   respondent=sub.respondent)  # fmt: skip


def _outcome(sub: Submission, findings: list[Finding], status: str) -> FileOutcome:
    errors = sum(f.is_error for f in findings)
    return FileOutcome(sub.file, status, sub.respondent, sub.kind, errors, len(findings) - errors,
                       correction=sub.correction)  # fmt: skip


def _cell_key(a1: str) -> tuple[int, int]:
    if not a1:
        return (-1, -1)
    from xlsxwriter.utility import xl_cell_to_rowcol

    try:
        return xl_cell_to_rowcol(a1)
    except Exception:
        return (-1, -1)


def _majority_period(plan: Plan, reads: list[_Read], folder: Path, skipped: list[str]) -> Period:
    seen = Counter(r.raw.tmap.period_id for r in reads if r.raw is not None)
    known = [p for p, _ in seen.most_common() if any(x.id == p for x in plan.periods)]
    if not known:
        if not reads:
            raise UsageError(no_files_message(folder, skipped))
        other = Counter(f.value for r in reads for f in r.findings if f.code is Code.PLAN_MISMATCH)
        if other:
            raise UsageError(f"文件夹中的填报表属于计划“{other.most_common(1)[0][0]}”，不是当前使用的计划“{plan.id}”；"
                             "请用 --plan 指定该计划文件")  # fmt: skip
        ids = "、".join(p.id for p in plan.periods)
        raise UsageError(f"文件夹中的 {len(reads)} 个文件都不是可识别的填报表，无法判断报送期；"
                         f"请用 --period 指定（{ids}），问题清单中会列出各文件的问题")  # fmt: skip
    return plan.period(known[0])


def no_files_message(folder: Path, skipped: list[str], explain: bool = True) -> str:
    """What to say about a folder of returns with no file in it but perhaps output folders
    (``explain``: and which: not when ``skipped_message`` was said already)."""
    if not skipped:
        return f"文件夹 {folder} 中没有文件；请把收回的填报表放进这个文件夹（可以放在子文件夹中）"
    text = f"文件夹 {folder} 中除 pdreport 的输出文件夹外没有文件；请把收回的填报表放进这个文件夹"
    return f"{text}。{skipped_message(skipped)}" if explain else text


def skipped_message(skipped: list[str]) -> str:
    """One line on the sub-folders not read because they are output folders."""
    shown = "、".join(skipped[:3]) + (f" 等 {len(skipped)} 个" if len(skipped) > 3 else "")
    return (f"没有读取子文件夹 {shown}：其中有标记文件 {OUTPUT_MARKER}，是 pdreport 的输出文件夹；"
            "如果其中确实是收回的填报表，删除该标记文件后重新运行")  # fmt: skip


def check_one(plan: Plan, path: Path, period_id: str | None = None) -> tuple[Submission | None, list[Finding]]:
    """The whole validation for one workbook (an office's self-check before sending)."""
    path = Path(path)
    if period_id:
        period_id = plan.period(period_id).id  # an unknown period fails before reading
    try:
        missing = not path.exists() and not path.is_symlink()
    except PermissionError:  # (a folder on the way that cannot be opened: reported by the guard, below)
        missing = False
    if missing:
        raise UsageError(f"找不到文件：{path}")
    r = _read_one(display_name(path.name), path, plan, period_id)
    if r.listing:  # (in a folder of returns no problem; checked on its own, not a return either)
        return None, [Finding(Code.NO_METADATA, "这是生成填报表时的分发清单，不是填报表",
                              "请检查下发给本单位的填报表，文件名形如“报送期_单位名称_碳达峰碳中和及节能工作进展填报表.xlsx”",
                              file=r.file)]  # fmt: skip
    if r.raw is None:
        return None, r.findings
    period = plan.period(period_id or r.raw.tmap.period_id)
    sub, found = validate_submission(r.raw, plan, period)
    return sub, r.findings + found
