"""Where the Hydra config tree (``conf/``) is, for every module that composes or reads it."""

from __future__ import annotations

import os
from pathlib import Path


def conf_dir() -> Path:
    """The Hydra config tree: ``$GDO_CONF_DIR``, else the installed package's ``gdo/conf``
    (a wheel ships the repository's ``conf/`` there), else the checkout's ``conf/``."""
    env = os.environ.get("GDO_CONF_DIR")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    installed = package / "conf"
    return installed if (installed / "config.yaml").is_file() else package.parent / "conf"
