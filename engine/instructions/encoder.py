"""all-MiniLM-L6-v2 sentence encoder without torch: tokenizers + an ONNX graph built from package weights."""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path

import numpy as np

# isort: off
import engine.runtime  # noqa: F401  (first: without an ONNX Runtime flavour it stops with one line)
import onnxruntime as ort

# isort: on
from tokenizers import Tokenizer

from engine.errors import ModelError
from engine.instructions.onnx_writer import FLOAT, INT64, GraphBuilder
from engine.instructions.weights import BackgroundSha256, parse_safetensors, read_model_file, read_verified
from engine.models import TEXT_ENCODER, TEXT_TOKENIZER, text_encoder_dir

EMBEDDING_DIM = 384
#: sentence-transformers' max_seq_length for this model (sentence_bert_config.json).
MAX_TOKENS = 256

_LAYER_NORM_EPS = 1e-12
_BATCH = 32


def build_bert_graph(w: dict[str, np.ndarray], layers: int = 6, heads: int = 12) -> bytes:
    """The BERT encoder of all-MiniLM-L6-v2 as an ONNX model (bytes), weights taken from `w` (HF names).

    Inputs input_ids / attention_mask (batch, seq) int64; output last_hidden_state (batch, seq, 384).
    Standard opset-17 ops in the layout ONNX Runtime fuses (LayerNormalization, Erf-GELU, attention).
    """
    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    head_dim = hidden // heads
    g = GraphBuilder("all-MiniLM-L6-v2")
    ids = g.input("input_ids", INT64, ("batch", "seq"))
    mask = g.input("attention_mask", INT64, ("batch", "seq"))
    i64 = functools.partial(np.array, dtype=np.int64)
    f32 = functools.partial(np.array, dtype=np.float32)

    def linear(x: str, name: str) -> str:
        weight = g.const(name + ".weight", np.ascontiguousarray(w[name + ".weight"].T))
        return g.node("Add", [g.node("MatMul", [x, weight]), g.const(name + ".bias", w[name + ".bias"])])

    def layer_norm(x: str, name: str) -> str:
        return g.node(
            "LayerNormalization",
            [x, g.const(name + ".weight", w[name + ".weight"]), g.const(name + ".bias", w[name + ".bias"])],
            axis=-1,
            epsilon=_LAYER_NORM_EPS,
        )

    # Embeddings: word + position[:seq] + token type 0 (folded into the position table).
    seq = g.node("Slice", [g.node("Shape", [ids]), g.const("one_i", i64([1])), g.const("two_i", i64([2]))])
    table = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    positions = g.node(
        "Slice", [g.const("position_table", table.astype(np.float32)), g.const("zero_i", i64([0])), seq]
    )
    words = g.node("Gather", [g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), ids])
    x = layer_norm(g.node("Add", [words, positions]), "embeddings.LayerNorm")

    # Padding keys get -1e9 added to their scores: ~0 weight after softmax, as in BERT.
    keep = g.node("Cast", [mask], to=FLOAT)
    bias = g.node("Mul", [g.node("Sub", [g.const("one_f", f32(1.0)), keep]), g.const("neg_big", f32(-1e9))])
    bias = g.node("Unsqueeze", [bias, g.const("axes_1_2", i64([1, 2]))])
    split_heads = g.const("split_heads", i64([0, 0, heads, head_dim]))
    merge_heads = g.const("merge_heads", i64([0, 0, hidden]))
    scale = g.const("scale", f32(1.0 / math.sqrt(head_dim)))
    sqrt2 = g.const("sqrt2", f32(math.sqrt(2.0)))
    half = g.const("half", f32(0.5))
    one = "one_f"

    for i in range(layers):
        p = f"encoder.layer.{i}."
        q, k, v = (
            g.node("Reshape", [linear(x, p + f"attention.self.{n}"), split_heads])
            for n in ("query", "key", "value")
        )
        q = g.node("Transpose", [q], perm=[0, 2, 1, 3])
        k = g.node("Transpose", [k], perm=[0, 2, 3, 1])
        v = g.node("Transpose", [v], perm=[0, 2, 1, 3])
        scores = g.node("Add", [g.node("Mul", [g.node("MatMul", [q, k]), scale]), bias])
        probs = g.node("Softmax", [scores], axis=-1)
        context = g.node("Transpose", [g.node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = g.node("Reshape", [context, merge_heads])
        attended = g.node("Add", [linear(context, p + "attention.output.dense"), x])
        x = layer_norm(attended, p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        # Exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)), in the node order ORT recognises and fuses.
        gelu = g.node("Add", [g.node("Erf", [g.node("Div", [h, sqrt2])]), one])
        gelu = g.node("Mul", [g.node("Mul", [h, gelu]), half])
        x = layer_norm(g.node("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")
    g.node("Identity", [x], output="last_hidden_state")
    g.output("last_hidden_state", FLOAT, ("batch", "seq", hidden))
    return g.serialize()


def _load_tokenizer(data: bytes, path: Path) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # tokenizers raises its own Exception type for malformed JSON
        raise ModelError(f"{path}: cannot be loaded ({exc})") from exc
    # Our own instance, configured once here: padding is done per batch by TextEncoder.tokenize.
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def _session(model: bytes, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # A prompt is a few dozen tokens: one thread is fastest and does not fight the restoration
    # network or other processes for cores (multi-threaded GEMMs on a busy CPU were 10x slower).
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"text encoder graph failed to load ({exc})") from exc


class TextEncoder:
    """A loaded all-MiniLM-L6-v2: `encode(texts)` -> (N, 384) float32, unit length; `encode_tokens` adds the
    token states. Thread-safe.

    The graph is built in memory from the installed package's safetensors at load (tens of ms), so the
    repository carries no 90 MB copy and the runtime needs neither torch nor the onnx package. Both files
    are the registry's TEXT_ENCODER and TEXT_TOKENIZER, checked against their sha256 as they are read;
    `directory` (default: engine.models.text_encoder_dir()) is where they are looked for.
    """

    def __init__(self, directory: Path | None = None, *, threads: int = 1) -> None:
        directory = text_encoder_dir() if directory is None else directory
        self.directory = directory
        weights_path = directory / TEXT_ENCODER.file
        tokenizer_path = directory / TEXT_TOKENIZER.file
        tokenizer_bytes = read_verified(tokenizer_path, TEXT_TOKENIZER.sha256)
        data = read_model_file(weights_path)
        pending = BackgroundSha256(data, TEXT_ENCODER.sha256, weights_path)
        try:
            self._tokenizer = _load_tokenizer(tokenizer_bytes, tokenizer_path)
            self._session = _session(build_bert_graph(parse_safetensors(data, weights_path)), threads)
        except (ModelError, KeyError) as exc:
            pending.check()  # a wrong file is reported as such, not as whatever broke first
            if isinstance(exc, KeyError):
                raise ModelError(f"{weights_path}: missing tensor {exc}") from exc
            raise
        pending.check()

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, (N, L) int64, padded with [PAD]=0 to the longest text."""
        encodings = self._tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return ids, mask

    def _states(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, 384) unit length, token states (N, L, 384)) for one padded batch."""
        (hidden,) = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        # Mean over real tokens (sentence-transformers Pooling, mean mode), then unit length (Normalize).
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32), hidden

    def encode_tokens(self, texts: list[str] | tuple[str, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
        """encode()'s embeddings and each text's token states ((tokens, 384) float32, [CLS] and [SEP]
        included, padding not), which the task head's attention poolings read."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        states: list[np.ndarray] = [np.zeros((0, EMBEDDING_DIM), np.float32)] * len(texts)
        # Texts of similar length batched together: less padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            ids, mask = self.tokenize([texts[i] for i in chunk])
            out[chunk], hidden = self._states(ids, mask)
            for row, i in enumerate(chunk):
                states[i] = hidden[row, : int(mask[row].sum())]  # a view: encode() keeps none of them
        return out, states

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        """(N, 384) float32 L2-normalised embeddings."""
        return self.encode_tokens(texts)[0]


_encoder: TextEncoder | None = None
_encoder_lock = threading.Lock()


def get_text_encoder() -> TextEncoder:
    """The process-wide encoder, loaded (and verified) on first use."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                _encoder = TextEncoder()
    return _encoder


def encode(texts: list[str] | tuple[str, ...]) -> np.ndarray:
    """Embed instructions with all-MiniLM-L6-v2: (N, 384) float32, each row of unit length."""
    return get_text_encoder().encode(texts)


def encode_tokens(texts: list[str] | tuple[str, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """encode()'s embeddings and each text's token states (TextEncoder.encode_tokens)."""
    return get_text_encoder().encode_tokens(texts)
