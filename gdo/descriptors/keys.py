"""What the descriptor outputs are keyed on: the pool, the model, the per-sample config.

The describe runner (:mod:`gdo.descriptors.stage`) writes its shards under
:func:`sample_key`; merge (:mod:`gdo.descriptors.merge`) reads the shards of that key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gdo.descriptors.registry import Item
from gdo.utils.errors import InputError
from gdo.utils.manifest import content_hash, read_manifest, to_plain
from gdo.utils.stage import base_model_path, work_dir


def pool_path(cfg: Any) -> Path:
    """``<work_dir>/pool/pool.parquet``, or a clear error naming the command to run."""
    path = work_dir(cfg) / "pool" / "pool.parquet"
    if not path.exists():
        raise InputError(str(path), reason="no candidate table; run `gdo pool` first")
    return path


def model_dir(cfg: Any) -> str:
    """The model to describe with: descriptors.model_path, model.path, else the world base."""
    return str(base_model_path(cfg, cfg.descriptors.model_path))


def model_identity(path: str) -> Any:
    """What identifies the model's weights without hashing gigabytes."""
    p = Path(path)
    if not p.exists():
        return path  # a hub id: the name is the identity
    m = read_manifest(p)
    if m and m.get("key"):
        return {"path": str(p.resolve()), "key": m["key"]}
    files = sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin"))
    return {
        "path": str(p.resolve()),
        "files": [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files],
    }


def sample_key(cfg: Any, items: list[Item], needs_model: bool) -> str:
    """Hash of what changes per-sample values: descriptors, model, pool, seed."""
    pool_manifest = read_manifest(work_dir(cfg) / "pool") or {}
    return content_hash(
        {
            "descriptors": [
                (it.name, it.enabled, it.descriptor.sample_config_key())
                for it in items
                if it.descriptor.sample_columns
            ],
            "max_frames": cfg.descriptors.max_frames,
            "model": model_identity(model_dir(cfg)) if needs_model else None,
            "model_cfg": to_plain(cfg.model) if needs_model else None,
            "pool": pool_manifest.get("key") or str(pool_path(cfg)),
            "seed": cfg.seed,
        }
    )
