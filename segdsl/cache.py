"""The per-user cache folder: the demo warehouse and the compiled grammar live here.

``$XDG_CACHE_HOME/segdsl`` (``~/.cache/segdsl`` by default), never the shared temp
folder: a file another user could plant there must not be loaded.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder() -> Path:
    """The folder for segdsl's cached files (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base).expanduser() / "segdsl").resolve()


def ensure_cache_folder() -> Path | None:
    """The cache folder, created private to the user; None when it cannot be made."""
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None
