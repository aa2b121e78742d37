"""Shard files: one append-only JSONL per rank, resumable after a crash or a kill.

``<work_dir>/descriptors/shards/<key>/shard-<rank>-of-<world>.jsonl``: ``key`` hashes
everything that changes the values (descriptor config, model, pool, seed), so a changed
config writes to a new folder and the shards of another config stay as they were
(switching back resumes them). The first line is a header
``{"_header": {"key", "rank", "world_size"}}``; every other line is one candidate's
row. Rows are flushed and fsynced per batch, so a SIGKILL loses at most the batch in
flight plus a truncated last line, which :func:`open_shard` cuts off before appending
again. A shard whose header key differs from its folder's is restarted from scratch
rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gdo.utils.errors import InputError
from gdo.utils.io import append_jsonl

log = logging.getLogger(__name__)

HEADER = "_header"


def shard_of(uid: str, world_size: int) -> int:
    """The rank that owns ``uid``: a stable hash (the uid's own hex), never Python's hash()."""
    try:
        h = int(uid[:16], 16)
    except ValueError:
        h = int.from_bytes(hashlib.sha1(uid.encode()).digest()[:8], "big")
    return h % world_size


def shard_dir(out_dir: str | Path, key: str) -> Path:
    """``out_dir/shards/<key>``: where the shards written with ``key`` live."""
    return Path(out_dir) / "shards" / key


def shard_path(out_dir: Path, rank: int, world_size: int) -> Path:
    """``out_dir/shard-<rank>-of-<world>.jsonl``."""
    return Path(out_dir) / f"shard-{rank}-of-{world_size}.jsonl"


@dataclass
class ShardContent:
    """What a shard file holds: its header, its complete rows and where they end."""

    path: Path
    header: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    valid_bytes: int = 0
    truncated: bool = False


def read_shard(path: str | Path) -> ShardContent:
    """Parse a shard; a broken *last* line (a kill mid-write) is ignored, any other raises."""
    path = Path(path)
    out = ShardContent(path)
    if not path.exists():
        return out
    data = path.read_bytes()
    pos = 0
    lines = data.split(b"\n")
    for n, raw in enumerate(lines, start=1):
        is_last = n == len(lines)
        if is_last and not raw:
            break  # the normal end: the file ends with a newline
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict) or is_last:
                # A line without its newline was cut mid-write even if it happens to parse.
                raise ValueError("incomplete line")
        except ValueError as exc:
            if is_last or (n == len(lines) - 1 and not lines[-1]):
                out.truncated = True
                break
            raise InputError(str(path), f"line {n}", reason=f"not a JSON row ({exc})") from exc
        if HEADER in obj:
            if n != 1:
                raise InputError(str(path), f"line {n}", HEADER, "the header on line 1 only")
            out.header = obj[HEADER]
        else:
            if "uid" not in obj:
                raise InputError(str(path), f"line {n}", "uid", "a candidate uid")
            out.rows.append(obj)
        pos += len(raw) + 1
    out.valid_bytes = pos
    return out


def open_shard(path: str | Path, header: dict[str, Any]) -> tuple[IO[str], set[str]]:
    """Open a shard for appending; returns the handle and the uids already done.

    Cuts a truncated tail; starts over if the file's header does not match ``header``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = read_shard(path)
    if content.header is not None and content.header.get("key") == header.get("key"):
        if content.truncated:
            log.warning("%s: cutting a truncated last line (an interrupted write)", path)
            with open(path, "r+b") as fh:
                fh.truncate(content.valid_bytes)
        fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - the caller closes it
        return fh, {r["uid"] for r in content.rows}
    if path.exists():
        old = (content.header or {}).get("key")
        log.warning(
            "%s: written with key %s, now %s: starting the shard over", path, old, header["key"]
        )
    fh = open(path, "w", encoding="utf-8")  # noqa: SIM115
    append_jsonl(fh, [{HEADER: header}])
    return fh, set()
