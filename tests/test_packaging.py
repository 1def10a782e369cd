"""The wheel is complete: a normal install (not editable) ships the report templates and the
report runs from it, away from the source tree.

The top-level ``templates/`` folder is mapped into the wheel as ``pdreport/_templates/``
(pyproject.toml); a checkout keeps using ``templates/`` itself. The wheel is built once per module
from a copy of the project in tmp (so no ``build/`` is left in, or shared through, the checkout);
building and the report subprocess take a few seconds, the timeouts leave room for a slow machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pdreport.report.render import PARTS, default_templates_dir

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
SAMPLES = REPO / "sample_workbooks"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def _pip_wheel(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), *extra, str(src)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("pdreport", "templates"):
        shutil.copytree(REPO / name, src / name, ignore=IGNORE)
    out = tmp / "dist"
    r = _pip_wheel(src, out)
    if r.returncode != 0:  # build isolation fetches setuptools; without a network, use this one
        r = _pip_wheel(src, out, "--no-build-isolation")
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = out.glob("pdreport-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked: what ``pip install --target`` lays down, minus the scripts."""
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    return target


def _run(args, pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)  # fmt: skip


def test_wheel_holds_every_template_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    files = [p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.name for p in files} >= set(PARTS) | {"README.md"}
    missing = [p.relative_to(TEMPLATES).as_posix() for p in files
               if "pdreport/_templates/" + p.relative_to(TEMPLATES).as_posix() not in names]  # fmt: skip
    assert not missing, f"templates/ files not in the wheel: {missing}"
    assert not any(n.startswith("templates/") for n in names)  # not a stray top-level folder


def test_wheel_holds_every_subpackage_and_data(wheel):
    """pyproject.toml lists the packages by name: a new sub-package must be added there."""
    names = set(zipfile.ZipFile(wheel).namelist())
    pkg = REPO / "pdreport"
    wanted = [p for p in pkg.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]  # fmt: skip
    missing = [p.relative_to(REPO).as_posix() for p in wanted
               if p.relative_to(REPO).as_posix() not in names]  # fmt: skip
    assert not missing, f"not in the wheel (listed in [tool.setuptools] packages?): {missing}"


def test_checkout_uses_top_level_templates():
    assert default_templates_dir() == TEMPLATES


def test_report_runs_from_the_wheel_outside_the_checkout(installed, tmp_path):
    out = tmp_path / "out"
    probe = _run(["-c", "import pdreport.report.render as r; print(r.__file__); "
                        "print(r.default_templates_dir())"], installed, tmp_path)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    module, folder = probe.stdout.split("\n")[:2]
    assert Path(module).is_relative_to(installed)  # the wheel's code, not the checkout's
    assert Path(folder) == installed / "pdreport" / "_templates"

    r = _run(["-m", "pdreport", "report", str(SAMPLES), "--period", "2024H1", "-o", str(out)],
             installed, tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    docx = list(out.glob("*.docx"))
    assert len(docx) == 1 and docx[0].stat().st_size > 10_000
    assert zipfile.is_zipfile(docx[0])


def test_missing_templates_still_named_in_the_error(installed, tmp_path):
    broken = tmp_path / "site"
    shutil.copytree(installed, broken)
    shutil.rmtree(broken / "pdreport" / "_templates")
    r = _run(["-m", "pdreport", "report", str(SAMPLES), "--period", "2024H1",
              "-o", str(tmp_path / "out")], broken, tmp_path)  # fmt: skip
    assert r.returncode != 0
    assert "找不到报告模板文件夹" in r.stdout + r.stderr
    assert "--templates" in r.stdout + r.stderr
