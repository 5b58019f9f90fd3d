"""Instruction understanding: text -> all-MiniLM-L6-v2 embedding -> tasks (and scale), strength, off-topic."""

from __future__ import annotations

from engine.instructions.encoder import EMBEDDING_DIM, TextEncoder, encode, get_text_encoder
from engine.instructions.head import TaskHead, get_task_head
from engine.instructions.interpret import (
    TASK_LABELS,
    TASKS,
    Interpretation,
    explicit_strength,
    interpret,
    interpret_many,
    strength_word,
    task_label,
)
from engine.instructions.size import SUPPORTED_SCALES, TARGET_KINDS, describe_target

__all__ = [
    "EMBEDDING_DIM",
    "SUPPORTED_SCALES",
    "TARGET_KINDS",
    "TASKS",
    "TASK_LABELS",
    "Interpretation",
    "TaskHead",
    "TextEncoder",
    "describe_target",
    "encode",
    "explicit_strength",
    "get_task_head",
    "get_text_encoder",
    "interpret",
    "interpret_many",
    "strength_word",
    "task_label",
]
