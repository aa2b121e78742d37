"""``gdo benchmark check FILE``: validate a custom benchmark and list every problem.

Exit status 0 when the file reads cleanly, 1 when it has problems (each printed with its
line or row), 2 on bad usage. Missing media files count as problems here, although
``read_benchmark`` only flags those questions: a file that passes the check evaluates
every question it holds.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from gdo.benchmarks.custom import check_custom


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gdo benchmark check",
        description="Validate a custom benchmark file (JSONL, CSV or parquet): every problem "
        "with its line/row; non-zero exit status when there is any.",
    )
    p.add_argument("file", nargs="+", help="question file(s) or folder(s)")
    p.add_argument(
        "--media-root",
        default=None,
        help="folder media paths resolve against (default: each file's folder)",
    )
    p.add_argument(
        "--max-problems",
        type=int,
        default=0,
        help="print at most this many problems per file (0: all)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Check each file; print its problems and a summary; return the exit status."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits on --help / bad usage
        return int(exc.code or 0)
    status = 0
    for file in args.file:
        res = check_custom(file, args.media_root)
        shown = res.problems[: args.max_problems] if args.max_problems else res.problems
        for problem in shown:
            print(problem)
        if len(shown) < len(res.problems):
            print(f"... and {len(res.problems) - len(shown)} more")
        kinds = Counter(r["media_kind"] for r in res.rows if not r["video_missing"])
        groups = Counter(r["group"] for r in res.rows if r["group"])
        media = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
        ok = sum(kinds.values())
        line = f"{file}: {res.n_records} records, {ok} questions ok ({media})"
        if groups:
            line += f", {len(groups)} groups"
        if res.problems:
            print(f"{line}; {len(res.problems)} problem(s)", file=sys.stderr)
            status = 1
        else:
            print(f"{line}; no problems")
    return status


if __name__ == "__main__":
    sys.exit(main())
