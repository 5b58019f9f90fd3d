"""Per-user desktop preferences (device, tile size, output format, recent files) kept as JSON."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from engine.paths import user_config_dir

DEVICES = ("auto", "cuda", "directml", "cpu")
OUTPUT_FORMATS = ("same", "JPEG", "PNG", "TIFF", "WEBP")
MAX_RECENT = 10
MAX_HISTORY = 30


def settings_path() -> Path:
    return user_config_dir() / "desktop-settings.json"


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON via a temp file + os.replace so a crash never leaves half a file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class AppSettings:
    """What the settings dialog edits, plus the little lists the window remembers."""

    device: str = "auto"
    tile_size: int = 0  # 0: the engine picks a size for the device
    output_format: str = "same"  # "same" keeps the source's format
    quality: int = 95
    recent_files: list[str] = field(default_factory=list)
    prompt_history: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> AppSettings:
        path = path or settings_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing or damaged file: defaults, never a crash at start-up.
            return cls()
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in raw.items() if k in known}) if isinstance(raw, dict) else cls()
        settings.normalise()
        return settings

    def normalise(self) -> None:
        if self.device not in DEVICES:
            self.device = "auto"
        if self.output_format not in OUTPUT_FORMATS:
            self.output_format = "same"
        self.tile_size = max(0, int(self.tile_size))
        self.quality = min(max(int(self.quality), 1), 100)
        self.recent_files = [str(p) for p in self.recent_files][:MAX_RECENT]
        self.prompt_history = [str(p) for p in self.prompt_history][:MAX_HISTORY]

    def save(self, path: Path | None = None) -> None:
        self.normalise()
        write_json_atomic(path or settings_path(), asdict(self))

    def add_recent(self, photo: Path) -> None:
        entry = str(Path(photo).resolve())
        self.recent_files = [entry] + [p for p in self.recent_files if p != entry]
        del self.recent_files[MAX_RECENT:]

    def add_prompt(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.prompt_history = [text] + [p for p in self.prompt_history if p != text]
        del self.prompt_history[MAX_HISTORY:]

    @property
    def engine_device(self) -> str | None:
        return None if self.device == "auto" else self.device

    @property
    def engine_tile_size(self) -> int | None:
        return self.tile_size or None

    @property
    def engine_format(self) -> str | None:
        return None if self.output_format == "same" else self.output_format
