"""Instruction understanding: text -> all-MiniLM-L6-v2 embedding -> restoration tasks, strength, off-topic."""

from __future__ import annotations

from engine.instructions.encoder import EMBEDDING_DIM, TextEncoder, encode, get_text_encoder

TASKS = ("denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg")

__all__ = ["EMBEDDING_DIM", "TASKS", "TextEncoder", "encode", "get_text_encoder"]
