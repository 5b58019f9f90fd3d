"""`photomend detect --ray`: the local command's rows, in the same order, from Ray tasks (a real local Ray),
and the extra's hint where Ray is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import BAD

ROOT = Path(__file__).resolve().parents[2]


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_cli_detect_with_ray_gives_the_local_rows(
    ray_cluster: object, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    code = main(["detect", str(photos), "--json", "--ray=", "--ray-workers", "2", "--device", "cpu"])
    rows = _rows(capsys.readouterr().out)
    assert code == 1  # the bad files
    local_code = main(["detect", str(photos), "--json", "--device", "cpu"])
    local = _rows(capsys.readouterr().out)
    assert local_code == 1
    assert [row["path"] for row in rows] == [row["path"] for row in local]
    assert len(rows) == 97 + len(BAD)
    failed = sorted(Path(row["path"]).relative_to(photos).as_posix() for row in rows if "error" in row)
    assert failed == sorted(BAD)
    for ray_row, local_row in zip(rows, local, strict=True):
        assert ray_row.get("tasks") == local_row.get("tasks") and ray_row.get("error") == local_row.get(
            "error"
        )
        if "scores" in ray_row:
            assert ray_row["instruction"] == local_row["instruction"]
            assert ray_row["scores"] == pytest.approx(local_row["scores"], abs=2e-4)


def test_without_ray_installed_detect_ray_says_to_install_the_extra(tmp_path: Path) -> None:
    argv = ["detect", str(tmp_path), "--ray"]
    # sys.modules[name] = None makes `import ray` fail as it does where Ray is not installed
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys\nsys.modules['ray'] = None\nfrom engine.cli import main\nsys.exit(main({argv!r}))\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'photomend[cluster]'" in result.stderr
