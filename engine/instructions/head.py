"""The task head: small numpy MLPs (an ensemble) from an instruction embedding to tasks, kind, strength."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ModelError
from engine.instructions.encoder import EMBEDDING_DIM
from engine.instructions.weights import read_verified
from engine.models import TASK_HEAD, spec_file

#: What a prompt is: a restoration request, something PhotoMend does not do, or too vague to act on.
KINDS = ("restore", "offtopic", "vague")
#: Strength classes the head predicts (gentle / plain / strong); the pipeline blends by this factor.
STRENGTH_LEVELS = (0.5, 0.85, 1.0)


@dataclass(frozen=True)
class HeadOutput:
    """Probabilities for one embedding."""

    task_probs: np.ndarray  # (len(tasks),) independent sigmoids, order of `tasks`
    kind_probs: np.ndarray  # (3,) softmax over KINDS
    strength_probs: np.ndarray  # (3,) softmax over STRENGTH_LEVELS


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class TaskHead:
    """Loaded head weights; `predict` is pure numpy and thread-safe.

    The file is the registry's TASK_HEAD (resources/models/task_head.npz unless `path` says otherwise),
    checked against `sha256` (default: TASK_HEAD's) as it is read: ModelError (one line) when it differs.
    """

    def __init__(self, path: Path | None = None, sha256: str | None = None) -> None:
        path = spec_file(TASK_HEAD) if path is None else path
        data = read_verified(path, TASK_HEAD.sha256 if sha256 is None else sha256)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                # (members, ...) arrays of an ensemble; stored as float16, computed in float32.
                self.w1, self.b1 = npz["w1"].astype(np.float32), npz["b1"].astype(np.float32)[:, None, :]
                self.w2, self.b2 = npz["w2"].astype(np.float32), npz["b2"].astype(np.float32)[:, None, :]
                # Attention poolings of the token states (absent: the head reads the mean embedding alone).
                names = ("a1", "ab1", "a2", "ab2")
                pools = [npz[n].astype(np.float32) for n in names] if "a1" in npz.files else None
                self.tasks = tuple(str(t) for t in npz["tasks"])
                kinds = tuple(str(k) for k in npz["kinds"])
                levels = tuple(round(float(v), 4) for v in npz["strength_levels"])
        except (KeyError, ValueError, OSError) as exc:
            raise ModelError(f"{path}: not a task head file ({exc})") from exc
        if kinds != KINDS or levels != STRENGTH_LEVELS:
            raise ModelError(f"{path}: made for other kinds/strength levels ({kinds}, {levels})")
        self.a1: np.ndarray | None = pools[0] if pools else None
        self.ab1: np.ndarray | None = pools[1] if pools else None
        self.a2: np.ndarray | None = pools[2] if pools else None
        self.ab2: np.ndarray | None = pools[3] if pools else None
        self.pools = 0 if self.a2 is None else self.a2.shape[2]
        expected_out = len(self.tasks) + len(KINDS) + len(STRENGTH_LEVELS)
        if (
            self.w1.ndim != 3
            or self.w1.shape[1] != EMBEDDING_DIM * (self.pools + 1)
            or self.w2.shape[2] != expected_out
            or (self.a1 is not None and self.a1.shape[:2] != (self.w1.shape[0], EMBEDDING_DIM))
        ):
            raise ModelError(f"{path}: unexpected weight shapes {self.w1.shape}, {self.w2.shape}")
        members, _, hidden = self.w1.shape
        self._mean_only_w1 = self.w1.reshape(members, self.pools + 1, EMBEDDING_DIM, hidden).sum(axis=1)

    def mean_only_w1(self) -> np.ndarray:
        """fc1's weights (members, 384, hidden) for the mean embedding alone, every pooling taken as
        attending to all words evenly (which gives the mean): what predict() does without token states."""
        return self._mean_only_w1

    def _features(self, embeddings: np.ndarray, tokens: list[np.ndarray]) -> np.ndarray:
        """(members, N, 384 * (pools + 1)): each member's mean embedding and attention poolings, each of
        unit length."""
        assert self.a1 is not None and self.ab1 is not None and self.a2 is not None and self.ab2 is not None
        members = self.w1.shape[0]
        out = np.empty((members, len(tokens), self.pools + 1, EMBEDDING_DIM), np.float32)
        out[:, :, 0] = embeddings[None]
        for i, states in enumerate(tokens):
            states = np.asarray(states, dtype=np.float32)
            scores = np.tanh(states[None] @ self.a1 + self.ab1[:, None]) @ self.a2 + self.ab2[:, None]
            weights = _softmax(scores.transpose(0, 2, 1))  # (members, pools, tokens)
            pooled = weights @ states
            out[:, i, 1:] = pooled / np.maximum(np.linalg.norm(pooled, axis=2, keepdims=True), 1e-12)
        return out.reshape(members, len(tokens), -1)

    def predict(self, embeddings: np.ndarray, tokens: list[np.ndarray] | None = None) -> list[HeadOutput]:
        """The head's reading of each embedding, with its text's token states (encode_tokens) where the head
        pools them; without them, each pooling is taken as the mean (mean_only_w1)."""
        x = np.asarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        if self.pools and tokens is not None:
            if len(tokens) != len(x):
                raise ValueError(f"{len(tokens)} token arrays for {len(x)} embeddings")
            hidden = np.maximum(self._features(x, tokens) @ self.w1 + self.b1, 0.0)
        else:
            hidden = np.maximum(x[None] @ self._mean_only_w1 + self.b1, 0.0)
        logits = (hidden @ self.w2 + self.b2).mean(axis=0)  # ensemble: average the members' logits
        nt, nk = len(self.tasks), len(KINDS)
        tasks = _sigmoid(logits[:, :nt])
        kinds = _softmax(logits[:, nt : nt + nk])
        strengths = _softmax(logits[:, nt + nk :])
        return [HeadOutput(t, k, s) for t, k, s in zip(tasks, kinds, strengths, strict=True)]


_head: TaskHead | None = None
_head_lock = threading.Lock()


def get_task_head() -> TaskHead:
    """The process-wide head, loaded and verified on first use."""
    global _head
    if _head is None:
        with _head_lock:
            if _head is None:
                _head = TaskHead()
    return _head
