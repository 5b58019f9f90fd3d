"""Batch runs over files and folders: journal, resume, per-file errors, progress, cancel."""

from engine.batch.journal import JOURNAL_NAME, Journal, JournalError, OutputStamp
from engine.batch.naming import DEFAULT_PATTERN, PATTERN_FIELDS, BatchUsageError, check_pattern
from engine.batch.runner import (
    BatchItem,
    BatchReport,
    BatchSettings,
    ItemEvent,
    Job,
    OutputFolderError,
    collect_inputs,
    open_output_folder,
    plan_batch,
    prepare_job,
    restore_job,
    run_batch,
    write_job_output,
)

__all__ = [
    "DEFAULT_PATTERN",
    "JOURNAL_NAME",
    "PATTERN_FIELDS",
    "BatchItem",
    "BatchReport",
    "BatchSettings",
    "BatchUsageError",
    "ItemEvent",
    "Job",
    "Journal",
    "JournalError",
    "OutputFolderError",
    "OutputStamp",
    "check_pattern",
    "collect_inputs",
    "open_output_folder",
    "plan_batch",
    "prepare_job",
    "restore_job",
    "run_batch",
    "write_job_output",
]
