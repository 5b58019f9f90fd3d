"""engine.cluster without a cluster: the lazy import, the hint without Ray, the layering contract, sizing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cluster import ClusterError, WorkerPlan, plan_workers

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_importing_the_engine_and_its_cli_loads_no_ray_or_pyarrow() -> None:
    result = _python(
        "import sys, engine.cluster, engine.cli, engine.batch\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('ray', 'pyarrow')))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["restore", "IN", "--prompt", "it's way too dark", "-o", "OUT", "--ray"],
        ["blur", "IN", "--ray", "ray://head:10001"],
    ],
    ids=["restore", "blur"],
)
def test_without_ray_installed_ray_says_to_install_the_extra(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "IN").mkdir()
    argv = [str(tmp_path / a) if a in ("IN", "OUT") else a for a in argv]
    # sys.modules[name] = None makes `import ray` fail as it does where Ray is not installed
    result = _python(
        f"import sys\nsys.modules['ray'] = None\nfrom engine.cli import main\nsys.exit(main({argv!r}))\n"
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'photomend[cluster]'" in result.stderr
    assert not (tmp_path / "OUT").exists()  # refused before touching anything


def test_ray_address_that_is_an_input_is_a_usage_error(tmp_path: Path) -> None:
    from engine.cli import main

    assert main(["blur", str(tmp_path), "--ray", str(tmp_path)]) == 2


def test_the_contract_catches_a_ray_import_outside_engine_cluster(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "engine" / "batch" / "ray_probe.py").write_text("import ray\n", encoding="utf-8")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "engine.batch.ray_probe -> ray" in result.stdout


CPU_NODE = {"CPU": 16.0}
GPU_NODE = {"CPU": 32.0, "GPU": 4.0}


@pytest.mark.parametrize(
    ("nodes", "kwargs", "plan"),
    [
        # CPU: one worker per node holding all its CPUs (ONNX Runtime spreads one photo over them)
        ([CPU_NODE, CPU_NODE], {}, WorkerPlan(2, 16.0, 0.0, None)),
        ([{"CPU": 2.0}], {"workers": 2}, WorkerPlan(2, 1.0, 0.0, None)),
        ([{"CPU": 2.0}], {"workers": 5}, WorkerPlan(5, 0.4, 0.0, None)),
        ([CPU_NODE, {"CPU": 8.0}], {"cpus_per_worker": 4}, WorkerPlan(6, 4.0, 0.0, None)),
        # GPU: one worker per GPU with the node's CPUs shared among its GPUs; half a GPU: two per GPU
        ([CPU_NODE, GPU_NODE], {}, WorkerPlan(4, 8.0, 1.0, None)),
        ([GPU_NODE], {"gpus_per_worker": 0.5, "device": "cuda"}, WorkerPlan(8, 4.0, 0.5, "cuda")),
        ([GPU_NODE], {"workers": 2, "cpus_per_worker": 2}, WorkerPlan(2, 2.0, 1.0, None)),
        # the CPU asked for, or no GPU share: CPU workers even on a GPU node
        ([GPU_NODE], {"device": "cpu"}, WorkerPlan(1, 32.0, 0.0, "cpu")),
        ([GPU_NODE], {"gpus_per_worker": 0}, WorkerPlan(1, 32.0, 0.0, None)),
    ],
)
def test_workers_are_sized_from_the_cluster(
    nodes: list[dict[str, float]], kwargs: dict, plan: WorkerPlan
) -> None:
    assert plan_workers(nodes, **kwargs) == plan


@pytest.mark.parametrize(
    ("nodes", "kwargs", "says"),
    [
        ([CPU_NODE], {"device": "cuda"}, "no GPU"),
        ([CPU_NODE], {"workers": 0}, "at least one worker"),
        ([CPU_NODE], {"cpus_per_worker": 32}, "fits no node"),
        ([{"GPU": 1.0}], {"device": "cpu"}, "no CPU"),
    ],
)
def test_sizes_the_cluster_cannot_hold_are_refused(
    nodes: list[dict[str, float]], kwargs: dict, says: str
) -> None:
    with pytest.raises(ClusterError, match=says):
        plan_workers(nodes, **kwargs)
