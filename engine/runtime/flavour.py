"""Which ONNX Runtime flavour is installed: the `cpu`, `cuda` or `directml` extra picks exactly one."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

from engine.errors import DeviceError

#: Distributions that all install the one `onnxruntime` import folder, and the PhotoMend extra that selects
#: each (None: not an extra of ours, but it installs the same folder). Two of them in one environment
#: overwrite each other's files, and uninstalling either one removes files the other needs.
ORT_DISTRIBUTIONS: dict[str, str | None] = {
    "onnxruntime": "cpu",
    "onnxruntime-gpu": "cuda",
    "onnxruntime-directml": "directml",
    "onnxruntime-openvino": None,
    "onnxruntime-qnn": None,
}

NOT_INSTALLED = (
    "ONNX Runtime is not installed: pip install 'photomend[cpu]' (or 'photomend[cuda]' for an NVIDIA GPU, "
    "'photomend[directml]' on Windows; from a source checkout: pip install -e '.[cpu]')"
)


class OnnxRuntimeInstallError(DeviceError):
    """No ONNX Runtime is installed, or several flavours share (and break) its one import folder."""


@dataclass(frozen=True)
class OrtDistribution:
    """One installed ONNX Runtime distribution, e.g. ("onnxruntime-gpu", "1.31.1")."""

    name: str
    version: str

    @property
    def flavour(self) -> str:
        """The extra that installs it ("cpu", "cuda", "directml"), else the distribution's name."""
        return ORT_DISTRIBUTIONS.get(self.name) or self.name

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def installed_distributions() -> list[OrtDistribution]:
    """The ONNX Runtime distributions installed here, read from their metadata (nothing is imported)."""
    found = []
    for name in ORT_DISTRIBUTIONS:
        try:
            found.append(OrtDistribution(name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return found


def several_installed_message(found: Sequence[OrtDistribution]) -> str:
    """The one-line fix for two or more flavours in one environment."""
    names = " ".join(d.name for d in found)
    # Uninstall all, then install one: uninstalling just the unwanted one deletes the shared folder's files.
    # The example prefers an accelerator: a plain onnxruntime left over beside it is the usual way in.
    keep = min(found, key=lambda d: (d.name == "onnxruntime", d.name)).name
    return (
        f"several ONNX Runtime packages are installed ({', '.join(str(d) for d in found)}); they share the "
        f"onnxruntime module and overwrite each other: pip uninstall -y {names}, then install the one you "
        f"want, e.g. pip install {keep}"
    )


def install_problem(found: Sequence[OrtDistribution], *, importable: bool = True) -> str | None:
    """What is wrong with this ONNX Runtime install, in one line, or None when it is usable.

    No known distribution while the module imports (a source build, a bundle without metadata) is fine:
    only the import can tell that ONNX Runtime is missing.
    """
    if len(found) > 1:
        return several_installed_message(found)
    if importable:
        return None
    if not found:
        return NOT_INSTALLED
    (only,) = found
    return (
        f"{only} is installed but its onnxruntime module cannot be imported: "
        f"pip install --force-reinstall --no-deps {only.name}"
    )


def require_onnxruntime() -> None:
    """Import onnxruntime; OnnxRuntimeInstallError (one line naming the fix) when it is missing or broken."""
    try:
        importlib.import_module("onnxruntime")
    except ImportError as exc:
        problem = install_problem(installed_distributions(), importable=False)
        raise OnnxRuntimeInstallError(problem or f"onnxruntime cannot be imported ({exc})") from exc


def check_single_flavour() -> OrtDistribution | None:
    """The installed flavour (None if unknown); OnnxRuntimeInstallError when two or more are installed."""
    found = installed_distributions()
    problem = install_problem(found)
    if problem:
        raise OnnxRuntimeInstallError(problem)
    return found[0] if found else None
