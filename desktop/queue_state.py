"""The batch queue as plain data: items, their status, and its JSON file so a queue survives a restart."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from desktop.settings import write_json_atomic
from engine.io import SUPPORTED_SUFFIXES
from engine.paths import user_data_dir

PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED = (
    "pending",
    "running",
    "done",
    "failed",
    "skipped",
    "cancelled",
)
STATUSES = (PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED)
DEFAULT_PATTERN = "{stem}-restored.{ext}"


def queue_path() -> Path:
    return user_data_dir() / "batch-queue.json"


def photos_in(paths: Iterable[Path]) -> list[Path]:
    """Files as given plus the photos found (recursively, sorted) in any folders."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        elif path.is_file():
            # A file dropped by hand is kept even with an odd suffix: the engine gives the reason if it fails.
            found.append(path)
    return found


@dataclass
class QueueItem:
    """One photo in the queue; `instruction` empty means "use the queue's instruction"."""

    path: str
    instruction: str = ""
    status: str = PENDING
    reason: str = ""
    output: str = ""
    progress: float = 0.0
    sharpness: float | None = None
    blurry: bool | None = None
    blur_kind: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class BatchQueue:
    """Items plus the queue-wide options; saved after every change by the widget that owns it."""

    items: list[QueueItem] = field(default_factory=list)
    instruction: str = ""
    output_dir: str = ""
    pattern: str = DEFAULT_PATTERN
    strength: float = 1.0

    def add_paths(self, paths: Iterable[Path]) -> list[QueueItem]:
        present = {str(Path(item.path).resolve()) for item in self.items}
        added = []
        for photo in photos_in(paths):
            key = str(photo.resolve())
            if key in present:
                continue
            present.add(key)
            added.append(QueueItem(path=key))
        self.items.extend(added)
        return added

    def item(self, item_id: str) -> QueueItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    def instruction_for(self, item: QueueItem) -> str:
        return item.instruction.strip() or self.instruction.strip()

    def runnable(self) -> list[QueueItem]:
        return [item for item in self.items if item.status in (PENDING, CANCELLED)]

    def sort_by_sharpness(self) -> None:
        """Sharpest first; items not measured yet go last, in their current order."""
        self.items.sort(key=lambda item: (item.sharpness is None, -(item.sharpness or 0.0)))

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> BatchQueue:
        known_item = {f.name for f in fields(QueueItem)}
        items = []
        for entry in raw.get("items", []) or []:  # type: ignore[union-attr]
            if not isinstance(entry, dict) or "path" not in entry:
                continue
            item = QueueItem(**{k: v for k, v in entry.items() if k in known_item})
            if item.status == RUNNING or item.status not in STATUSES:
                # The app stopped mid-item (quit or crash): run that one again on resume.
                item.status, item.progress = PENDING, 0.0
            items.append(item)
        return cls(
            items=items,
            instruction=str(raw.get("instruction", "")),
            output_dir=str(raw.get("output_dir", "")),
            pattern=str(raw.get("pattern", DEFAULT_PATTERN)) or DEFAULT_PATTERN,
            strength=float(raw.get("strength", 1.0)),  # type: ignore[arg-type]
        )

    def save(self, path: Path | None = None) -> None:
        write_json_atomic(path or queue_path(), self.to_dict())

    @classmethod
    def load(cls, path: Path | None = None) -> BatchQueue:
        path = path or queue_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls.from_dict(raw) if isinstance(raw, dict) else cls()
