"""setup.py: the sdist (what Dataflow's --setup_file stages) and the wheel built from it hold
every module and data file, pin the runtime requirements, and work once installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "transforms", "schemas")
DOCKERFILE = REPO / "deploy" / "dataflow" / "Dockerfile"


def dockerfile_sources() -> list[str]:
    """What the Flex Template image copies from the repository before `pip install .`."""
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *paths, _destination = line.split()[1:]
            sources.extend(p for p in paths if not p.startswith("deploy/"))
    return sources


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel) built offline from the files the Docker image copies, the wheel from the
    sdist (what `python -m build` does by default, and what a worker's pip does)."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in dockerfile_sources():
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), source],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return sdist, wheel


def repo_files(pattern: str) -> list[str]:
    return sorted(
        str(path.relative_to(REPO))
        for package in PACKAGES
        for path in (REPO / package).rglob(pattern)
        if "__pycache__" not in path.parts
    )


def sdist_files(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_image_copies_what_setup_py_needs():
    assert set(dockerfile_sources()) >= {
        "setup.py",
        "MANIFEST.in",
        "requirements.txt",
        "requirements-test.txt",
        "constraints.txt",
        *PACKAGES,
    }


def test_rule_table_and_casing_tables_are_in_sdist_and_wheel(distributions):
    sdist, wheel = distributions
    data = [name for name in repo_files("*") if "/data/" in name and not name.endswith(".py")]
    # The tables the cleaning steps load (a missing casing table reads as an empty one).
    for table in (
        "transforms/data/boilerplate_rules.tsv",
        "transforms/data/truecase_en.tsv.gz",
        "transforms/data/truecase_names_en.tsv.gz",
        "transforms/data/truecase_phrases_en.tsv.gz",
    ):
        assert table in data
    in_sdist, in_wheel = sdist_files(sdist), wheel_files(wheel)
    assert [name for name in data if name not in in_sdist] == []
    assert [name for name in data if name not in in_wheel] == []
    with zipfile.ZipFile(wheel) as archive:
        for name in data:
            assert archive.read(name) == (REPO / name).read_bytes(), name


def test_every_module_is_in_sdist_and_wheel_and_nothing_else(distributions):
    sdist, wheel = distributions
    modules = repo_files("*.py")
    assert len(modules) > 20
    in_sdist, in_wheel = sdist_files(sdist), wheel_files(wheel)
    assert [name for name in modules if name not in in_sdist] == []
    assert [name for name in modules if name not in in_wheel] == []
    top_level = {name.split("/")[0] for name in in_wheel if not name.endswith(".dist-info")}
    assert {name for name in top_level if not name.endswith(".dist-info")} == set(PACKAGES)
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in in_sdist)


def test_runtime_requirements_are_pinned_as_in_requirements_txt(distributions):
    _, wheel = distributions
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    runtime = sorted(
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )
    pinned = sorted(
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )

    def normalized(requirement: str) -> str:
        return re.sub(r"[-_.]+", "-", requirement.lower())

    assert sorted(map(normalized, runtime)) == sorted(map(normalized, pinned))
    assert all("==" in requirement for requirement in runtime)


def test_installed_wheel_loads_its_tables(distributions, tmp_path):
    _, wheel = distributions
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # a pure-Python wheel, installed
    check = (
        "import transforms, transforms.text.boilerplate as b, transforms.text.truecase as t;"
        "print(transforms.__file__); print(len(b.default_rules()));"
        "print(len(t.packaged_casings()), len(t.packaged_phrases()), len(t.packaged_names()))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    module_file, rules, tables = completed.stdout.splitlines()
    assert module_file.startswith(str(site))
    assert int(rules) > 10
    assert all(int(size) > 1000 for size in tables.split())
