"""Atomic writes (temp file + rename) so that a crash never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=_json_default) + "\n")


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result into place atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def atomic_write_parquet(path: str | os.PathLike, df) -> Path:
    """Write a DataFrame to parquet atomically (index dropped)."""
    return atomic_write_with(path, lambda tmp: df.to_parquet(tmp, index=False))


def append_jsonl(fh, rows: list[dict], fsync: bool = True) -> None:
    """Append rows to an open text file and make them durable (flush + fsync)."""
    for row in rows:
        fh.write(json.dumps(row, default=_json_default) + "\n")
    fh.flush()
    if fsync:
        os.fsync(fh.fileno())


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def temp_dir_for(target: str | os.PathLike) -> Path:
    """``.<name>.tmp-<host>-<pid>`` beside ``target``: where this process builds a folder
    before moving it into place (:func:`remove_stale_temp_dirs` finds those of dead
    processes)."""
    target = Path(target)
    return target.parent / f".{target.name}.tmp-{socket.gethostname()}-{os.getpid()}"


def remove_stale_temp_dirs(target: str | os.PathLike) -> list[Path]:
    """Remove the temp folders beside ``target`` (:func:`temp_dir_for`, or the older
    ``.<name>.tmp-<pid>``) whose process on this machine is gone.

    A process killed with SIGKILL cannot clean up after itself; the next run does. A
    folder whose process still runs (another build in progress), or that another
    machine is writing on shared storage, is left alone.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(target.name)}\.tmp-(?:(.+)-)?(\d+)")
    host = socket.gethostname()
    removed = []
    for entry in target.parent.iterdir():
        m = pattern.fullmatch(entry.name)
        if m is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(m.group(2))
        if m.group(1) not in (None, host) or pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        log.info("removed %s, left by process %d that no longer runs", entry, pid)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
