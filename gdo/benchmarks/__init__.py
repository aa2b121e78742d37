"""Benchmark question files: MVBench / Video-MME / MLVU / LVBench in their real schemas and
the ``custom`` kind, one row per question. Read by describe (goal relevance), select (a goal
from question files) and evaluate, so it sits below all three.

Public API:

- ``read_benchmark(path, kind, media_root=None) -> DataFrame``: ``path`` may be the
  dataset's folder as downloaded (``gdo.benchmarks.layouts.locate`` finds its files)
- ``register_kind(BenchmarkKind(...))``, ``get_kind(name)``: the one table of benchmark
  kinds (``gdo.benchmarks.kinds``); ``KINDS`` / ``GROUP_FIELDS`` read it
- ``QUESTION_COLUMNS`` (``gdo.benchmarks.schema``)
- ``gdo benchmark check FILE`` = ``gdo.benchmarks.check.main``: every problem of a custom file
"""

# readers.py registers gdo's own kinds when imported.
from gdo.benchmarks.custom import read_custom
from gdo.benchmarks.kinds import (
    GROUP_FIELDS,
    KINDS,
    BenchmarkKind,
    Form,
    Prompt,
    Rule,
    get_kind,
    register_kind,
)
from gdo.benchmarks.readers import read_benchmark
from gdo.benchmarks.schema import QUESTION_COLUMNS

__all__ = [
    "GROUP_FIELDS",
    "KINDS",
    "QUESTION_COLUMNS",
    "BenchmarkKind",
    "Form",
    "Prompt",
    "Rule",
    "get_kind",
    "read_benchmark",
    "read_custom",
    "register_kind",
]
