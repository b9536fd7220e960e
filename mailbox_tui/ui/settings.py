"""This admin's own settings (not shared through the database): who is acting."""

from __future__ import annotations

import json
from pathlib import Path


def settings_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("mailbox-tui")) / "settings.json"


def load_settings() -> dict:
    try:
        return json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_settings(settings: dict) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    tmp.replace(path)
