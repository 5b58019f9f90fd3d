"""restore(): the one path from a photo and an instruction to a restored photo, used by every face:
interpret -> plan (engine.pipeline.plan) -> run the steps' restorers (engine.restorers) -> blend."""

from engine.pipeline.detect import DetectedDegradations, detect_degradations, suggest_instruction
from engine.pipeline.plan import Plan, PlanStep, StepReport, make_plan, network_plan, run_plan
from engine.pipeline.restore import RestoreResult, blend, restore, task_notes

__all__ = [
    "DetectedDegradations",
    "Plan",
    "PlanStep",
    "RestoreResult",
    "StepReport",
    "blend",
    "detect_degradations",
    "make_plan",
    "network_plan",
    "restore",
    "run_plan",
    "suggest_instruction",
    "task_notes",
]
