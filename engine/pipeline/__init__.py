"""restore(): the one path from a photo and an instruction to a restored photo, used by every face."""

from engine.pipeline.detect import DetectedDegradations, detect_degradations, suggest_instruction
from engine.pipeline.restore import RestoreResult, blend, refine, restore, restore_photo, task_notes

__all__ = [
    "DetectedDegradations",
    "RestoreResult",
    "blend",
    "detect_degradations",
    "refine",
    "restore",
    "restore_photo",
    "suggest_instruction",
    "task_notes",
]
