"""Instruction understanding: torch-free encoder, weight checks, task head decisions, messages, summaries."""

from __future__ import annotations

import json
import shutil
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine.errors import ModelError
from engine.instructions import (
    EMBEDDING_DIM,
    TARGET_KINDS,
    TASKS,
    Interpretation,
    TaskHead,
    TextEncoder,
    encode,
    get_task_head,
    get_text_encoder,
    interpret,
    interpret_many,
)
from engine.instructions.interpret import MESSAGE_RESIZE, NOTE_RESIZE
from engine.instructions.onnx_writer import FLOAT, GraphBuilder
from engine.instructions.size import (
    asks_to_enlarge,
    asks_to_resize,
    asks_to_shrink,
    requested_factor,
    requested_target,
    scale_note,
    supported_scale,
)
from engine.instructions.weights import parse_safetensors, read_verified
from engine.models import TASK_HEAD, TEXT_ENCODER, TEXT_TOKENIZER, spec_file, text_encoder_dir
from engine.paths import models_dir

HEAD_FILE = TASK_HEAD.file
TOKENIZER_FILE = TEXT_TOKENIZER.file
WEIGHTS_FILE = TEXT_ENCODER.file

CAPABILITIES = "PhotoMend restores photos: it can reduce noise, fix blur"
PROMPTS = Path(__file__).resolve().parents[2] / "resources" / "prompts"


# ---------------------------------------------------------------- encoder


def test_encode_returns_unit_float32_rows() -> None:
    texts = ["denoise", "it's dark and grainy", "a much longer instruction " * 40, "ünïcödé 写真 ✨"]
    emb = encode(texts)
    assert emb.shape == (len(texts), EMBEDDING_DIM)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_encode_empty_list() -> None:
    assert encode([]).shape == (0, EMBEDDING_DIM)


def test_batching_and_padding_do_not_change_embeddings() -> None:
    texts = ["blur", "remove the rain streaks from this photo of the harbour please", "it is too dark"]
    together = encode(texts)
    alone = np.stack([encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_token_states_are_each_texts_own_and_average_to_its_embedding() -> None:
    texts = ["blur", "remove the rain streaks from this photo of the harbour please"]
    embeddings, states = get_text_encoder().encode_tokens(texts)
    np.testing.assert_allclose(embeddings, encode(texts), atol=1e-6)
    ids, _ = get_text_encoder().tokenize(texts[1:])
    assert [len(s) for s in states] == [3, ids.shape[1]]  # [CLS] blur [SEP]; no padding kept
    for embedding, tokens in zip(embeddings, states, strict=True):
        mean = tokens.mean(axis=0)
        np.testing.assert_allclose(mean / np.linalg.norm(mean), embedding, atol=1e-5)


def test_the_heads_attention_reads_the_words_and_falls_back_to_the_mean() -> None:
    head = get_task_head()
    assert head.pools > 0
    story = "we had a lovely walk by the lake and the kids were happy but my hands shook so it is smeared"
    embeddings, states = get_text_encoder().encode_tokens([story])
    (with_words,) = head.predict(embeddings, states)
    (mean_only,) = head.predict(embeddings)
    assert not np.allclose(with_words.task_probs, mean_only.task_probs, atol=1e-3)
    # one "word" equal to the embedding: every pooling is the mean, as predict() takes it without words
    (one_word,) = head.predict(embeddings, [embeddings[0][None]])
    np.testing.assert_allclose(one_word.task_probs, mean_only.task_probs, atol=1e-5)
    with pytest.raises(ValueError, match="token arrays"):
        head.predict(embeddings, states * 2)


def test_embeddings_carry_meaning() -> None:
    noise, denoise, hat = encode(["remove the noise", "reduce the grain", "add a party hat to my dog"])
    assert float(noise @ denoise) > float(noise @ hat) + 0.2


def test_encoder_is_loaded_once_across_threads() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        encoders = list(pool.map(lambda _: get_text_encoder(), range(8)))
    assert all(e is encoders[0] for e in encoders)


def test_concurrent_encodes_match_serial() -> None:
    texts = [f"remove the noise from photo number {i}" for i in range(6)]
    expected = encode(texts)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = encode([texts[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(np.stack([results[i] for i in range(len(texts))]), expected, atol=1e-5)


# ---------------------------------------------------------------- weight files


def test_weights_sha_mismatch_raises_model_error(tmp_path: Path) -> None:
    shutil.copy(text_encoder_dir() / TOKENIZER_FILE, tmp_path / TOKENIZER_FILE)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"\x08" + b"\x00" * 7 + b"{}" + b"not the real weights")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        TextEncoder(tmp_path)


def test_missing_encoder_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing"):
        TextEncoder(tmp_path)


def test_tampered_task_head_raises_model_error(tmp_path: Path) -> None:
    data = bytearray((models_dir() / HEAD_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / HEAD_FILE
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        TaskHead(tampered)


def test_task_head_wrong_recorded_sha_raises(tmp_path: Path) -> None:
    copy = tmp_path / HEAD_FILE
    shutil.copy(models_dir() / HEAD_FILE, copy)
    with pytest.raises(ModelError):
        TaskHead(copy, sha256="0" * 64)


def _damaged_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A resources/ folder the engine uses instead of the source tree's, with a damaged task head."""
    data = bytearray((models_dir() / HEAD_FILE).read_bytes())
    data[len(data) // 3] ^= 0x01
    damaged = tmp_path / "resources" / "models" / HEAD_FILE
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(bytes(data))
    monkeypatch.setenv("PHOTOMEND_RESOURCES", str(tmp_path / "resources"))
    return damaged


def test_the_task_head_is_the_registry_file_checked_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert spec_file(TASK_HEAD) == models_dir() / HEAD_FILE
    TaskHead()  # the shipped file matches the registry's sha256
    damaged = _damaged_resources(tmp_path, monkeypatch)
    assert spec_file(TASK_HEAD) == damaged
    with pytest.raises(ModelError) as caught:
        TaskHead()
    message = str(caught.value)
    assert message.startswith(f"{damaged}: sha256 mismatch") and "\n" not in message


def test_a_damaged_task_head_stops_interpreting_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import engine.instructions.head as head_module
    from engine.cli import EXIT_MODEL, main

    damaged = _damaged_resources(tmp_path, monkeypatch)
    # As in a fresh process: the head is loaded (and checked) on first use.
    monkeypatch.setattr(head_module, "_head", None)
    with pytest.raises(ModelError, match="task_head.npz: sha256 mismatch"):
        interpret("remove the noise")
    assert main(["interpret", "remove the noise"]) == EXIT_MODEL
    err = capsys.readouterr().err
    assert err.startswith(f"photomend: {damaged}: sha256 mismatch") and err.count("\n") == 1


def test_the_tokenizer_is_the_registry_file_checked_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytearray((text_encoder_dir() / TOKENIZER_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / TOKENIZER_FILE).write_bytes(bytes(data))
    monkeypatch.setenv("PHOTOMEND_TEXT_ENCODER_DIR", str(tmp_path))
    assert text_encoder_dir() == tmp_path and spec_file(TEXT_TOKENIZER) == tmp_path / TOKENIZER_FILE
    with pytest.raises(ModelError, match=f"{TOKENIZER_FILE}: sha256 mismatch"):
        TextEncoder()


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[array.dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def test_safetensors_parser_reads_what_was_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "a.weight": rng.standard_normal((3, 5)).astype(np.float32),
        "ids": np.arange(7, dtype=np.int64),
    }
    path = tmp_path / "t.safetensors"
    _write_safetensors(path, tensors)
    parsed = parse_safetensors(path.read_bytes(), path)
    assert set(parsed) == set(tensors)
    for name, array in tensors.items():
        np.testing.assert_array_equal(parsed[name], array)


def test_safetensors_parser_rejects_garbage(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a safetensors file"):
        parse_safetensors(b"\xff" * 8 + b"garbage", "garbage.safetensors")


def test_read_verified_accepts_matching_sha(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "blob.bin"
    path.write_bytes(b"photomend")
    assert read_verified(path, hashlib.sha256(b"photomend").hexdigest()) == b"photomend"


def test_onnx_writer_builds_a_graph_onnxruntime_runs() -> None:
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((4, 3)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    g = GraphBuilder("tiny")
    x = g.input("x", FLOAT, ("batch", 4))
    y = g.node("Add", [g.node("MatMul", [x, g.const("w", weight)]), g.const("b", bias)])
    g.node("Relu", [y], output="y")
    g.output("y", FLOAT, ("batch", 3))
    session = ort.InferenceSession(g.serialize(), providers=["CPUExecutionProvider"])
    inputs = rng.standard_normal((5, 4)).astype(np.float32)
    (out,) = session.run(["y"], {"x": inputs})
    np.testing.assert_allclose(out, np.maximum(inputs @ weight + bias, 0), atol=1e-6)


# ---------------------------------------------------------------- interpret


@pytest.mark.parametrize(
    "text",
    [
        "blur the background",
        "add film grain",
        "make it moodier",
        "add fog",
        "make me look younger",
        "hello how are you",
        "qwpoeiru zxmcnv",
        "change the sky to a sunset",
    ],
)
def test_offtopic_prompts_are_rejected_with_capabilities(text: str) -> None:
    result = interpret(text)
    assert result.understood is False
    assert result.tasks == ()
    assert CAPABILITIES in result.message
    assert "Try:" in result.message
    assert result.summary() == ""


@pytest.mark.parametrize(
    ("text", "tasks"),
    [
        ("denoise", {"denoise"}),
        ("my hands were shaking when I took this", {"deblur"}),
        ("the jpg is all blocky", {"jpeg"}),
        ("remove the haze over the mountains", {"dehaze"}),
        ("get rid of the rain streaks", {"derain"}),
        ("it's way too dark", {"lowlight"}),
        ("brighten this dark photo", {"lowlight"}),  # engine.restorers.base.STEP_INSTRUCTIONS' words
        ("it's dark and grainy", {"denoise", "lowlight"}),
        ("blurry and full of compression artifacts", {"deblur", "jpeg"}),
        ("foggy, rainy and blurry", {"dehaze", "derain", "deblur"}),
    ],
)
def test_restoration_requests_map_to_tasks(text: str, tasks: set[str]) -> None:
    result = interpret(text)
    assert result.understood is True
    assert set(result.tasks) == tasks
    assert result.message.startswith("Understood: ")
    assert set(result.tasks) <= set(TASKS)
    # Tasks are reported in the canonical order, whatever order the user named them in.
    assert list(result.tasks) == [t for t in TASKS if t in tasks]


@pytest.mark.parametrize(
    ("text", "strength", "summary"),
    [
        ("slightly reduce the noise", 0.5, "reduce noise — gentle"),
        ("remove the noise a lot", 1.0, "reduce noise — strong"),
        ("remove the noise", 0.85, "reduce noise"),
        ("it's very dark and very grainy", 1.0, "reduce noise; brighten — strong"),
    ],
)
def test_strength_words(text: str, strength: float, summary: str) -> None:
    result = interpret(text)
    assert result.strength == pytest.approx(strength)
    assert result.summary() == summary


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_instruction_asks_for_one(text: str) -> None:
    result = interpret(text)
    assert result.understood is False
    assert result.tasks == ()
    assert "Type what is wrong" in result.message
    assert result.embedding.shape == (EMBEDDING_DIM,)
    assert not result.embedding.any()


def test_vague_request_is_not_acted_on() -> None:
    result = interpret("make it better")
    assert result.understood is False
    assert result.tasks == ()
    assert CAPABILITIES in result.message


def test_interpretation_carries_embedding_and_scores() -> None:
    result = interpret("remove the grain")
    np.testing.assert_allclose(result.embedding, encode(["remove the grain"])[0], atol=1e-6)
    assert set(TASKS) <= set(result.scores)
    assert result.scores["denoise"] > 0.5
    assert all(0.0 <= v <= 1.0 for v in result.scores.values())
    assert result.text == "remove the grain"


def test_interpret_many_matches_interpret() -> None:
    texts = ["it's blurry", "", "add a hat", "brighten it slightly"]
    many = interpret_many(texts)
    for text, result in zip(texts, many, strict=True):
        single = interpret(text)
        assert (result.tasks, result.understood, result.strength) == (
            single.tasks,
            single.understood,
            single.strength,
        )


@pytest.mark.parametrize(
    ("tasks", "strength", "expected"),
    [
        (("denoise", "lowlight"), 1.0, "reduce noise; brighten — strong"),
        (("denoise",), 0.85, "reduce noise"),
        (("jpeg", "deblur"), 0.5, "clean up JPEG artefacts; remove blur — gentle"),
        ((), 0.0, ""),
    ],
)
def test_summary_text(tasks: tuple[str, ...], strength: float, expected: str) -> None:
    interp = Interpretation("x", tasks, strength, bool(tasks), "", np.zeros(EMBEDDING_DIM, np.float32), {})
    assert interp.summary() == expected
    assert interp.scale == 1 and interp.target is None


@pytest.mark.parametrize(
    ("tasks", "scale", "target", "expected"),
    [
        (("upscale",), 2, None, "enlarge ×2"),
        (("denoise", "upscale"), 4, None, "reduce noise; enlarge ×4 — strong"),
        (("upscale",), 2, ("width", 6000), "enlarge to 6000 px wide"),
        (("upscale",), 2, ("long", 3840), "enlarge to 3840 px on the long side"),
    ],
)
def test_summary_names_the_enlargement(
    tasks: tuple[str, ...], scale: int, target: tuple[str, int] | None, expected: str
) -> None:
    strength = 1.0 if "denoise" in tasks else 0.85
    empty = np.zeros(EMBEDDING_DIM, np.float32)
    interp = Interpretation("x", tasks, strength, True, "", empty, {}, scale=scale, target=target)
    assert interp.summary() == expected


def test_very_long_instruction_is_handled() -> None:
    result = interpret("please remove the noise " + "and the noise " * 2000)
    assert "denoise" in result.tasks


def test_runtime_path_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from engine.instructions import interpret; r = interpret('it is dark and grainy'); "
        "assert r.understood; "
        "bad = {'torch', 'sentence_transformers', 'transformers', 'onnx'} & set(sys.modules); "
        "assert not bad, bad"
    )
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- enlarging (task "upscale")


def test_upscale_is_the_seventh_task_and_the_head_knows_it() -> None:
    assert TASKS == ("denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg", "upscale")
    assert get_task_head().tasks == TASKS


@pytest.mark.parametrize(
    ("text", "scale", "target"),
    [
        ("make it bigger", 2, None),
        ("upscale for a print", 2, None),
        ("double the resolution", 2, None),
        ("it's too small", 2, None),
        ("4x", 4, None),
        ("enlarge to 6000 px wide", 2, ("width", 6000)),
        ("upscale it to 3000 pixels tall", 2, ("height", 3000)),
        ("make it four times bigger for a poster", 4, None),
    ],
)
def test_enlarging_requests_route_to_upscale_with_their_scale(
    text: str, scale: int, target: tuple[str, int] | None
) -> None:
    result = interpret(text)
    assert result.understood is True
    assert result.tasks == ("upscale",)
    assert (result.scale, result.target) == (scale, target)
    expected = f"enlarge to {target[1]} px" if target else f"enlarge ×{scale}"
    assert result.summary().startswith(expected)
    assert result.message.startswith(f"Understood: {expected}")


@pytest.mark.parametrize(
    ("text", "tasks", "scale"),
    [
        ("it's grainy, make it bigger", {"denoise", "upscale"}, 2),
        ("dark and tiny, brighten and upscale 4x", {"lowlight", "upscale"}, 4),
        ("remove the jpeg blocks and double the size", {"jpeg", "upscale"}, 2),
    ],
)
def test_composites_carry_the_enlargement_and_the_other_tasks(text: str, tasks: set[str], scale: int) -> None:
    result = interpret(text)
    assert set(result.tasks) == tasks
    assert result.tasks[-1] == "upscale"  # canonical order: enlarging is listed (and done) last
    assert result.scale == scale


@pytest.mark.parametrize("text", ["remove the noise", "it's dark and grainy", "add a hat"])
def test_scale_is_one_without_an_enlargement(text: str) -> None:
    result = interpret(text)
    assert "upscale" not in result.tasks
    assert (result.scale, result.target) == (1, None)


@pytest.mark.parametrize("text", ["make it smaller", "shrink it", "downscale it", "reduce the file size"])
def test_making_a_photo_smaller_is_answered_as_a_resize(text: str) -> None:
    result = interpret(text)
    assert result.understood is False
    assert result.tasks == ()
    assert result.message == MESSAGE_RESIZE
    assert "resize, not a restoration" in result.message and CAPABILITIES in result.message


@pytest.mark.parametrize("text", ["zoom in on the face", "make my eyes bigger", "make my smile bigger"])
def test_crops_and_bigger_parts_are_off_topic(text: str) -> None:
    result = interpret(text)
    assert result.understood is False
    assert "upscale" not in result.tasks


def test_a_restoration_that_also_asks_for_a_smaller_photo_keeps_the_restoration() -> None:
    result = interpret("remove the noise and make it smaller")
    assert result.tasks == ("denoise",)
    assert result.message.endswith(NOTE_RESIZE)
    assert interpret("make it lighter").message == "Understood: brighten"


@pytest.mark.parametrize(
    ("text", "scale", "note"),
    [("upscale it 3x", 4, "×3 is not offered: enlarging ×4"), ("upscale 8x", 4, "×8 is more than")],
)
def test_unsupported_factors_go_to_a_supported_one_with_a_note(text: str, scale: int, note: str) -> None:
    result = interpret(text)
    assert result.tasks == ("upscale",)
    assert result.scale == scale
    assert note in result.message


# The rules alone (no model): factors, target sizes, shrinking.


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("2x", 2.0),
        ("x2", 2.0),
        ("×2", 2.0),
        ("2× upscale", 2.0),
        ("double it", 2.0),
        ("make it twice as big", 2.0),
        ("200%", 2.0),
        ("increase the size by 50%", 1.5),
        ("4x", 4.0),
        ("×4 please", 4.0),
        ("quadruple it", 4.0),
        ("four times bigger", 4.0),
        ("enlarge it four times", 4.0),
        ("400%", 4.0),
        ("3x", 3.0),
        ("scale up by a factor of 3", 3.0),
        ("8x upscale", 8.0),
        ("make it much bigger", 4.0),
        ("make it bigger", None),
        ("remove the 8x8 blocks", None),
        ("print it 4x6", None),
        ("remove my double chin", None),
        ("give it a double exposure look", None),
        ("I saved it four times, make it bigger", None),
        ("print at 30x40 cm", None),
        ("upscale to 1920x1080", None),
    ],
)
def test_requested_factor(text: str, factor: float | None) -> None:
    assert requested_factor(text) == factor


@pytest.mark.parametrize(
    ("factor", "scale", "note"),
    [
        (2.0, 2, ""),
        (4.0, 4, ""),
        (1.5, 2, "×1.5 is not offered"),
        (3.0, 4, "×3 is not offered: enlarging ×4 (scale it down afterwards for exactly ×3)."),
        (8.0, 4, "×8 is more than PhotoMend enlarges at once"),
    ],
)
def test_supported_scale_rounds_up_to_what_the_engine_runs(factor: float, scale: int, note: str) -> None:
    assert supported_scale(factor) == scale
    assert scale_note(factor).startswith(note) and bool(scale_note(factor)) == bool(note)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("enlarge to 6000 px wide", ("width", 6000)),
        ("I need it 4000 pixels wide", ("width", 4000)),
        ("upscale to 6,000 px", ("long", 6000)),
        ("upscale to 6k px wide", ("width", 6000)),
        ("make it 3000 pixels tall", ("height", 3000)),
        ("enlarge it to a width of 5000", ("width", 5000)),
        ("I need 6000 pixels on the long side", ("long", 6000)),
        ("for a 4k screen", ("long", 3840)),
        ("upscale to 1920x1080", ("long", 1920)),
        ("print at 30x40 cm at 300 dpi", ("long", 4724)),
        ("I want to print it 8 by 10 inches", ("long", 3000)),
        ("make it big enough for an A3 print", ("long", 4961)),
        # the size the photo has is not the size wanted
        ("it's only 800 px wide, make it bigger", None),
        ("it's 640x480, enlarge it", None),
        ("it's a screenshot from a 4k video, upscale it", None),
        ("it's from an old 2 megapixel camera", None),
        ("it's a scan of a 10x15 cm print", None),
    ],
)
def test_requested_target(text: str, target: tuple[str, int] | None) -> None:
    assert requested_target(text) == target
    assert target is None or target[0] in TARGET_KINDS


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("make the whole photo bigger", True),
        ("enlarge this picture and remove the grain", True),
        ("blow it up for a poster", True),
        ("make her face bigger", False),
        ("make the text larger", False),
        ("make the photo smaller", False),
    ],
)
def test_the_whole_photo_made_bigger_is_an_enlargement_whatever_the_head_says(text: str, whole: bool) -> None:
    assert asks_to_enlarge(text) == whole
    assert ("upscale" in interpret(text).tasks) == whole


@pytest.mark.parametrize(
    ("text", "shrink", "resize"),
    [
        ("make it smaller", True, True),
        ("scale it down to 50%", True, True),
        ("make the file size smaller for email", True, True),
        ("resize to 1080 px", False, True),
        ("resize it bigger", False, False),
        ("reduce the size of the photo", True, True),
        ("reduce the size of the grain", False, False),
        ("make it lighter", False, False),
        ("make the file lighter for email", True, True),
        ("make it bigger, not smaller", False, False),
        ("make it bigger", False, False),
        ("crop it", False, False),
    ],
)
def test_asks_to_shrink_and_to_resize(text: str, shrink: bool, resize: bool) -> None:
    assert asks_to_shrink(text) is shrink
    assert asks_to_resize(text) is resize


def _upscale_rows() -> list[dict]:
    rows = [json.loads(line) for line in (PROMPTS / "upscale_heldout.jsonl").read_text().splitlines() if line]
    return [r for r in rows if "upscale" in r["tasks"]]


@pytest.mark.parametrize("row", _upscale_rows(), ids=lambda r: r["text"][:40])
def test_the_rules_read_the_hand_written_sets_scales_and_sizes(row: dict) -> None:
    factor = requested_factor(row["text"])
    scale = 2 if factor is None else supported_scale(factor)
    target = requested_target(row["text"]) if factor is None else None
    assert (scale, list(target) if target else None) == (row["scale"], row["target"])
