"""Upstream LLaVA mixture files and their ``sampling_strategy`` rules."""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from gdo.utils.errors import InputError

STRATEGIES = ("all", "first", "end", "random")


def parse_strategy(strategy: str, where: str = "sampling_strategy") -> tuple[str, int | None, bool]:
    """``"first:50%"`` -> ("first", 50, True); ``"end:100"`` -> ("end", 100, False); all -> None."""
    text = str(strategy or "all").strip()
    name, _, amount = text.partition(":")
    if name not in STRATEGIES or (name == "all") != (amount == ""):
        raise InputError(
            where,
            None,
            "sampling_strategy",
            "all, first:N, first:P%, end:N, end:P%, random:N or random:P%",
            got=text,
        )
    if name == "all":
        return name, None, False
    percent = amount.endswith("%")
    try:
        value = float(amount[:-1]) if percent else int(amount)
    except ValueError:
        raise InputError(
            where, None, "sampling_strategy", "a count N or a percentage P%", got=text
        ) from None
    if value < 0 or (percent and value > 100):
        raise InputError(where, None, "sampling_strategy", "0 <= N, 0 <= P <= 100", got=text)
    return name, value, percent  # type: ignore[return-value]


def sample_indices(n: int, strategy: str, seed: int, key: str = "") -> np.ndarray | None:
    """Record indices a strategy keeps out of ``n`` (sorted), or None for all of them.

    Follows LLaVA's rules (a percentage rounds up); ``random`` is seeded by ``seed``
    and ``key`` (the file), so two files of one mixture draw independently.
    """
    name, value, percent = parse_strategy(strategy, key or "sampling_strategy")
    if name == "all":
        return None
    k = math.ceil(value * n / 100) if percent else int(value)
    k = max(0, min(n, k))
    if name == "first":
        return np.arange(k)
    if name == "end":
        return np.arange(n - k, n)
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
    return np.sort(rng.choice(n, size=k, replace=False))


def read_mixture(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Entries ``{json_path, sampling_strategy, source?}`` of an upstream mixture YAML.

    Accepts a bare list or a ``datasets:`` list (LLaVA's shape). Relative
    ``json_path`` values resolve against the mixture file's folder.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(
            str(path), None, None, "a YAML mixture file", reason=f"unreadable YAML ({exc})"
        ) from exc
    entries = data.get("datasets") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InputError(
            str(path),
            None,
            "datasets",
            "a list (or a `datasets:` list) of {json_path, sampling_strategy}",
            got=type(data).__name__,
        )
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("json_path"), str):
            raise InputError(str(path), f"entry {i}", "json_path", "a path string", got=entry)
        json_path = os.path.join(path.parent, os.path.expanduser(entry["json_path"]))
        strategy = str(entry.get("sampling_strategy", "all"))
        parse_strategy(strategy, f"{path}, entry {i}")
        out.append(
            {
                "path": os.path.normpath(json_path),
                "sampling_strategy": strategy,
                "source": entry.get("source"),
                "media_root": entry.get("media_root"),
            }
        )
    return out
