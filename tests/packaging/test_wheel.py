"""A wheel (`pip install .`, not editable) carries the models and restores the sample outside the source tree.

The slow test builds the wheel from a copy of what it is made of, installs it with --no-deps into a fresh
venv, and gives that venv this environment's site-packages (a .pth file, added after the install) for
numpy, onnxruntime, the text encoder's package and the rest: nothing is downloaded twice, and the only
PhotoMend code and resources the venv can find are the wheel's. It then restores the sample photo the wheel
carries, from a folder outside the repository.
"""

from __future__ import annotations

import email
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from engine.models import MODELS_FOLDER, all_specs

ROOT = Path(__file__).resolve().parents[2]
#: what `pip install .` builds from (a copy, so that a stale build/ folder in the checkout cannot leak in)
WHEEL_SOURCES = ("pyproject.toml", "setup.py", "README.md", "engine", "desktop", "plugin_gimp", "resources")
SAMPLE = "engine/_resources/samples/sample_noisy.jpg"


def _run(
    cmd: list[str], *, timeout: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )
    assert result.returncode == 0, f"{' '.join(cmd)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment a user's shell would have: no overrides pointing back at the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PHOTOMEND_RESOURCES", "PHOTOMEND_DEVICE")
    }
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env[name] = str(tmp_path / "home" / name.lower())
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    # Build isolation as `pip install .` does (setuptools>=68 from pip's cache or the index).
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(out), "-q"], timeout=300)
    (built,) = out.glob("photomend-*.whl")
    return built


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.slow
def test_the_wheel_carries_every_registry_model_and_the_sample(wheel: Path) -> None:
    names = _wheel_names(wheel)
    for spec in all_specs():
        if spec.folder == MODELS_FOLDER:
            assert f"engine/_resources/models/{spec.file}" in names, spec.id
    assert SAMPLE in names
    assert "engine/_resources/samples/SOURCES.md" in names  # the sample's licence travels with it
    assert "engine/_resources/prompts/train.jsonl.gz" in names  # read at run time (engine.instructions)
    assert "engine/_resources/icons/photomend.png" in names
    assert not [name for name in names if name.endswith("make_sample.py")]


@pytest.mark.slow
def test_the_wheel_requires_onnxruntime_only_through_its_flavour_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(archive.read(meta_name))
    requires = meta.get_all("Requires-Dist") or []
    ort = [r for r in requires if r.split(";")[0].strip().startswith("onnxruntime")]
    assert sorted(r.split(";")[0].strip() for r in ort) == [
        "onnxruntime-directml>=1.17",
        "onnxruntime-gpu>=1.17",
        "onnxruntime>=1.17",
    ]
    assert all("extra ==" in r for r in ort), ort
    assert {"cpu", "cuda", "directml"} <= set(meta.get_all("Provides-Extra") or [])


@pytest.mark.slow
def test_the_installed_wheel_restores_the_sample_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        timeout=300,
    )
    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], timeout=60
        ).stdout.strip()
    )
    # Dependencies from this environment, appended after the venv's own site-packages. Only this venv's
    # site folder has its .pth files read, so this environment's editable install of PhotoMend stays unseen.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "_photomend_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(tmp_path)
    where = _run(
        [
            str(python),
            "-c",
            "import engine, engine.paths; print(engine.__file__); print(engine.paths.resources_dir())",
        ],
        timeout=60,
        cwd=elsewhere,
        env=env,
    ).stdout.splitlines()
    assert [Path(line).is_relative_to(site_packages) for line in where] == [True, True], where
    assert Path(where[1]) == site_packages / "engine" / "_resources"

    photomend = str(bin_dir / "photomend")
    info = json.loads(
        _run([photomend, "info", "--json", "--device", "cpu"], timeout=300, cwd=elsewhere, env=env).stdout
    )
    assert info["onnxruntime_flavour"] is not None and not info["warnings"], info
    unverified = [m["id"] for m in info["models"] if not m["verified"]]
    assert not unverified, [m["message"] for m in info["models"] if not m["verified"]]
    for model in info["models"]:
        if model["file"].endswith(".onnx"):
            assert Path(model["path"]).is_relative_to(site_packages), model
            assert model["device"] == "cpu"

    sample = elsewhere / "sample_noisy.jpg"
    shutil.copy2(site_packages / SAMPLE, sample)
    result = _run(
        [photomend, "restore", sample.name, "-p", "remove the noise", "-o", "restored", "--device", "cpu"],
        timeout=600,
        cwd=elsewhere,
        env=env,
    )
    restored = elsewhere / "restored" / "sample_noisy.jpg"
    assert restored.is_file(), result.stdout + result.stderr
    assert restored.read_bytes() != sample.read_bytes()
    assert "1 restored" in result.stderr, result.stderr


def test_resources_are_found_in_an_installed_package_before_the_source_tree(tmp_path: Path) -> None:
    # engine/paths.py as a wheel installs it: engine/_resources beside it, and a stray resources/ above it
    # (some other package's) that must not be taken for ours.
    package = tmp_path / "site-packages" / "engine"
    (package / "_resources" / "models").mkdir(parents=True)
    (tmp_path / "site-packages" / "resources").mkdir()
    shutil.copy2(ROOT / "engine" / "paths.py", package / "paths.py")
    spec = importlib.util.spec_from_file_location("installed_paths", package / "paths.py")
    assert spec is not None and spec.loader is not None
    installed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installed)
    assert installed.resources_dir() == (package / "_resources").resolve()
    assert installed.models_dir() == (package / "_resources" / "models").resolve()


def test_a_source_checkout_reads_resources_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import paths

    monkeypatch.delenv("PHOTOMEND_RESOURCES", raising=False)
    assert not (ROOT / "engine" / "_resources").exists()  # nothing is copied into the source tree
    assert paths.resources_dir() == ROOT / "resources"
