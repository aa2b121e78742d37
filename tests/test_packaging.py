"""Packaging: the wheel carries the configs, ``gdo --version``, the package list, the lock.

The wheel tests build ``gdo`` from a copy of the files a build reads (so the checkout gets
no ``build/`` folder), install it into a fresh venv and run ``gdo`` from an empty folder,
where only the installed package can supply the configs. ``borrowed``: the fresh venv
gets its dependencies from this venv through a ``.pth`` line and installs the wheel
alone (no network, ~15 s here); ``resolved`` (slow): pip resolves every dependency from
the package indexes under the lock file, as a user's ``pip install`` would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import gdo
from gdo.cli import conf_dir, main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# What setuptools reads to build the wheel (README: the long description).
BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "gdo", "conf", "hydra_plugins"]


def test_package_list_names_every_package_folder() -> None:
    """pyproject lists packages by hand (package-dir maps gdo.conf); none may be missing."""
    from setuptools import find_namespace_packages, find_packages

    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(REPO), include=["gdo", "gdo.*"]))
    # hydra_plugins is a namespace package (no __init__.py), home of gdo's Hydra plugins.
    found |= set(find_namespace_packages(str(REPO), include=["hydra_plugins.*"]))
    assert listed - {"gdo.conf"} == found
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"gdo.conf": "conf"}


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"gdo {gdo.__version__}\n"
    assert main(["-V"]) == 0
    assert capsys.readouterr().out.startswith("gdo ")


def test_checkout_uses_top_level_conf() -> None:
    assert conf_dir() == REPO / "conf"


def test_lock_pins_every_declared_dependency() -> None:
    """constraints.txt (what `make install` uses) pins each dependency of pyproject."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    project = PYPROJECT["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt has no pin for {name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's '{req.specifier}'"
        )


def _site_packages(venv: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    pip = [sys.executable, "-m", "pip"]
    # No build isolation: this venv's setuptools (dev extra) builds it, offline.
    cmd = [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist")]
    subprocess.run([*cmd, str(src)], check=True, capture_output=True, text=True)
    (wheel,) = (tmp / "dist").glob("gdo-*.whl")
    return wheel


@pytest.mark.parametrize("deps", ["borrowed", pytest.param("resolved", marks=pytest.mark.slow)])
def test_wheel_runs_from_an_empty_folder(tmp_path: Path, deps: str) -> None:
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    if deps == "borrowed":
        # Appended after the fresh site-packages, so `import gdo` finds the wheel's copy;
        # .pth files in this venv (its editable gdo) are not processed from there.
        here = sysconfig.get_path("purelib")
        (_site_packages(venv) / "gdo_test_deps.pth").write_text(here + "\n")
        subprocess.run([*install, "--no-deps", "--no-index", str(wheel)], check=True)
    else:
        subprocess.run([*install, "-c", str(REPO / "constraints.txt"), str(wheel)], check=True)
    empty = tmp_path / "empty"
    empty.mkdir()

    def gdo_cmd(*args: str) -> str:
        proc = subprocess.run(
            [str(venv / "bin" / "gdo"), *args], cwd=empty, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    assert gdo_cmd("--version") == f"gdo {gdo.__version__}\n"
    job = gdo_cmd("run", "experiment=demo", "--cfg", "job")
    assert "name: demo" in job and "command: run" in job
    assert list(empty.iterdir()) == []  # --cfg job writes nothing
    # The configs came from the installed package, not from this checkout.
    where = subprocess.run(
        [str(python), "-c", "from gdo.cli import conf_dir; print(conf_dir())"],
        cwd=empty, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where) == _site_packages(venv) / "gdo" / "conf"
