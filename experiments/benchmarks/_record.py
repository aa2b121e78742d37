"""``--out``: a benchmark's result as a Markdown record (what ran, where, on which commit)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def write_record(path: Path, title: str, result: Any) -> Path:
    """Write ``result`` under a header naming the command, machine, load and commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,  # this checkout's commit, from any folder
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    lines = [
        f"# {title}",
        "",
        f"- command: `python {' '.join(sys.argv)}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, load "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- commit: {commit or 'unknown'}",
        "",
        "```json",
        json.dumps(result, indent=2, default=str),
        "```",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path
