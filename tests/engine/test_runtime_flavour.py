"""engine.runtime.flavour: none, one or several ONNX Runtime distributions, and what each case tells the user.

The distribution lookup (importlib.metadata) is replaced per test; nothing is installed or removed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from engine.cli import EXIT_MODEL, EXIT_OK, main
from engine.errors import DeviceError
from engine.models import RESTORE
from engine.runtime import clear_session_cache, device_report, get_session
from engine.runtime import flavour as flavour_module
from engine.runtime.flavour import (
    NOT_INSTALLED,
    OnnxRuntimeInstallError,
    OrtDistribution,
    check_single_flavour,
    install_problem,
    installed_distributions,
    require_onnxruntime,
)

ROOT = Path(__file__).resolve().parents[2]


def fake_installed(monkeypatch: pytest.MonkeyPatch, versions: dict[str, str]) -> None:
    """Make importlib.metadata report exactly `versions` among the ONNX Runtime distributions."""

    def version(name: str) -> str:
        if name in versions:
            return versions[name]
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(flavour_module.metadata, "version", version)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PHOTOMEND_DEVICE", raising=False)
    clear_session_cache()
    yield
    clear_session_cache()


@pytest.mark.parametrize(
    ("versions", "flavours"),
    [
        pytest.param({"onnxruntime": "1.32.0"}, ["cpu"], id="cpu"),
        pytest.param({"onnxruntime-gpu": "1.31.1"}, ["cuda"], id="cuda"),
        pytest.param({"onnxruntime-directml": "1.24.4"}, ["directml"], id="directml"),
        pytest.param({"onnxruntime-openvino": "1.23.0"}, ["onnxruntime-openvino"], id="openvino"),
        pytest.param({"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}, ["cpu", "cuda"], id="two"),
        pytest.param({}, [], id="none"),
    ],
)
def test_installed_distributions_are_read_from_metadata(
    monkeypatch: pytest.MonkeyPatch, versions: dict[str, str], flavours: list[str]
) -> None:
    fake_installed(monkeypatch, versions)
    found = installed_distributions()
    assert [d.flavour for d in found] == flavours
    assert [str(d) for d in found] == [f"{name} {version}" for name, version in versions.items()]


@pytest.mark.parametrize(
    "found",
    [
        pytest.param([OrtDistribution("onnxruntime", "1.32.0")], id="cpu"),
        pytest.param([OrtDistribution("onnxruntime-gpu", "1.31.1")], id="cuda"),
        pytest.param([], id="unknown-distribution-but-importable"),
    ],
)
def test_one_flavour_or_an_importable_unknown_one_is_fine(found: list[OrtDistribution]) -> None:
    assert install_problem(found) is None


def test_none_installed_names_the_extras_in_one_line() -> None:
    message = install_problem([], importable=False)
    assert message == NOT_INSTALLED
    assert "\n" not in message
    for extra in ("photomend[cpu]", "photomend[cuda]", "photomend[directml]", "-e '.[cpu]'"):
        assert extra in message


@pytest.mark.parametrize(
    ("names", "keep"),
    [
        pytest.param(["onnxruntime", "onnxruntime-gpu"], "onnxruntime-gpu", id="cpu+cuda"),
        pytest.param(["onnxruntime", "onnxruntime-directml"], "onnxruntime-directml", id="cpu+directml"),
        pytest.param(
            ["onnxruntime", "onnxruntime-gpu", "onnxruntime-directml"], "onnxruntime-directml", id="three"
        ),
    ],
)
def test_several_installed_name_them_and_the_fix_in_one_line(names: list[str], keep: str) -> None:
    found = [OrtDistribution(name, "1.20.0") for name in names]
    for importable in (True, False):
        message = install_problem(found, importable=importable)
        assert message is not None and "\n" not in message
        assert ", ".join(f"{name} 1.20.0" for name in names) in message
        assert "share the onnxruntime module" in message
        # Uninstall every one, then install one: removing only the unwanted one breaks the shared folder.
        assert f"pip uninstall -y {' '.join(names)}, then" in message
        assert f"pip install {keep}" in message


def test_a_distribution_whose_module_is_gone_is_reinstalled() -> None:
    message = install_problem([OrtDistribution("onnxruntime-gpu", "1.31.1")], importable=False)
    assert message == (
        "onnxruntime-gpu 1.31.1 is installed but its onnxruntime module cannot be imported: "
        "pip install --force-reinstall --no-deps onnxruntime-gpu"
    )


def test_require_onnxruntime_turns_a_failed_import_into_a_device_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_installed(monkeypatch, {})

    def no_module(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(flavour_module.importlib, "import_module", no_module)
    with pytest.raises(OnnxRuntimeInstallError) as caught:
        require_onnxruntime()
    assert isinstance(caught.value, DeviceError)  # the faces map it to "model or device" (exit 4)
    assert str(caught.value) == NOT_INSTALLED


def test_check_single_flavour_returns_the_one_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_installed(monkeypatch, {"onnxruntime-gpu": "1.31.1"})
    assert check_single_flavour() == OrtDistribution("onnxruntime-gpu", "1.31.1")
    fake_installed(monkeypatch, {})
    assert check_single_flavour() is None


def test_the_first_session_refuses_two_flavours(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_installed(monkeypatch, {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"})
    with pytest.raises(OnnxRuntimeInstallError, match="several ONNX Runtime packages are installed"):
        get_session(RESTORE, "cpu")


def test_restore_with_two_flavours_stops_with_the_fix_and_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake_installed(monkeypatch, {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"})
    sample = ROOT / "resources" / "samples" / "sample_noisy.jpg"
    code = main(
        ["restore", str(sample), "-p", "remove the noise", "-o", str(tmp_path / "out"), "--device", "cpu"]
    )
    assert code == EXIT_MODEL
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("photomend: ")]
    assert errors == [
        "photomend: several ONNX Runtime packages are installed "
        "(onnxruntime 1.32.0, onnxruntime-gpu 1.31.1); they share the onnxruntime module and overwrite "
        "each other: pip uninstall -y onnxruntime onnxruntime-gpu, then install the one you want, "
        "e.g. pip install onnxruntime-gpu"
    ]


def test_info_reports_the_flavour_providers_and_resources(capsys: pytest.CaptureFixture[str]) -> None:
    report = device_report("cpu")
    assert report["onnxruntime_flavour"] in ("cpu", "cuda", "directml")
    assert report["resources"]
    assert main(["info", "--device", "cpu"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"onnxruntime_flavour: {report['onnxruntime_flavour']}" in out
    assert "restore: ok (sha256 verified), runs on cpu (CPUExecutionProvider)" in out


def test_info_with_two_flavours_warns_with_the_fix_and_probes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_installed(monkeypatch, {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"})
    report = device_report("cpu")
    assert report["onnxruntime_flavour"] is None
    assert report["onnxruntime_packages"] == ["onnxruntime 1.32.0", "onnxruntime-gpu 1.31.1"]
    (warning,) = [w for w in report["warnings"] if "several" in w]
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in warning
    assert all("device" not in model for model in report["models"])  # no session was attempted
    assert main(["info"]) == EXIT_OK
    assert warning in capsys.readouterr().out


def test_info_without_onnxruntime_is_one_line_and_exit_4() -> None:
    # A fresh interpreter where `import onnxruntime` fails and no distribution is installed: what a venv
    # installed without the cpu/cuda/directml extra looks like.
    code = textwrap.dedent(
        """
        import sys
        from importlib import metadata
        sys.modules["onnxruntime"] = None  # import onnxruntime -> ImportError
        real_version = metadata.version
        def version(name):
            if name.startswith("onnxruntime"):
                raise metadata.PackageNotFoundError(name)
            return real_version(name)
        metadata.version = version
        from engine.cli import main
        sys.exit(main(["info"]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == EXIT_MODEL, result.stdout + result.stderr
    assert result.stderr == f"photomend: {NOT_INSTALLED}\n"
