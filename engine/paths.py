"""Where PhotoMend's bundled resources and per-user files live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "PhotoMend"

#: where an installed wheel carries resources/: pyproject.toml maps the source tree's resources/ to the
#: package directory engine/_resources at build time (no copy in git)
INSTALLED_RESOURCES = "_resources"


def resources_dir() -> Path:
    """The `resources/` folder: env override, PyInstaller bundle, installed wheel, or the source tree."""
    override = os.environ.get("PHOTOMEND_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    package = Path(__file__).resolve().parent
    installed = package / INSTALLED_RESOURCES
    if installed.is_dir():
        return installed
    # A source checkout or an editable install: engine/ sits next to resources/.
    return package.parent / "resources"


def models_dir() -> Path:
    return resources_dir() / "models"


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
