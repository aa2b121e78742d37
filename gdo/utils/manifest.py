"""Stage manifests and content hashes.

Every stage writes ``manifest.json`` next to its artifact: the resolved config it
ran with, the seed, the hashes of its inputs, the package version and counts.
``key`` (a hash of the relevant config plus the input keys) is what ``gdo run``
compares to decide whether a stage can be skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

from gdo import __version__
from gdo.utils.io import atomic_write_json, read_json

MANIFEST = "manifest.json"


def to_plain(cfg: Any) -> Any:
    """Resolve an OmegaConf node or a config dataclass (or pass through plain data) into
    JSON-able data. A dataclass gives the same data as the ``DictConfig`` it was made from
    (gdo.utils.typed), so a stage's key does not depend on which of the two it hashes."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return dataclasses.asdict(cfg)
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(cfg, DictConfig | ListConfig):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return cfg


def content_hash(*parts: Any, n: int = 16) -> str:
    """A stable hex hash of JSON-able parts (configs, input keys, strings)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(to_plain(part), sort_keys=True, default=str).encode())
        h.update(b"\x1e")
    return h.hexdigest()[:n]


def file_hash(path: str | Path, n: int = 16, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:n]


def write_manifest(
    out_dir: str | Path,
    *,
    stage: str,
    key: str,
    config: Any = None,
    inputs: dict[str, str] | None = None,
    counts: dict[str, Any] | None = None,
    seed: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/manifest.json`` atomically; written last, so it marks completion."""
    data = {
        "stage": stage,
        "key": key,
        "gdo_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "seed": seed,
        "inputs": inputs or {},
        "counts": counts or {},
        "config": to_plain(config),
    }
    if extra:
        data.update(extra)
    return atomic_write_json(Path(out_dir) / MANIFEST, data)


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, json.JSONDecodeError):
        return None


def is_fresh(out_dir: str | Path, key: str) -> bool:
    """True when ``out_dir`` holds a finished artifact made with this ``key``."""
    m = read_manifest(out_dir)
    return m is not None and m.get("key") == key
