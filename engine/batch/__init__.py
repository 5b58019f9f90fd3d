"""Batch runs over files and folders: journal, resume, per-file errors, progress, cancel."""

from engine.batch.runner import (
    JOURNAL_NAME,
    BatchItem,
    BatchReport,
    ItemEvent,
    collect_inputs,
    plan_batch,
    run_batch,
)

__all__ = [
    "JOURNAL_NAME",
    "BatchItem",
    "BatchReport",
    "ItemEvent",
    "collect_inputs",
    "plan_batch",
    "run_batch",
]
