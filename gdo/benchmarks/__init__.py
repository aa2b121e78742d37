"""Benchmark question files: MVBench / Video-MME / MLVU / LVBench in their real schemas and
the ``custom`` kind, one row per question. Read by describe (goal relevance), select (a goal
from question files) and evaluate, so it sits below all three.

Public API:

- ``read_benchmark(path, kind, media_root=None) -> DataFrame``: ``path`` may be the
  dataset's folder as downloaded (``gdo.benchmarks.layouts.locate`` finds its files)
- ``KINDS``, ``QUESTION_COLUMNS``, ``GROUP_FIELDS`` (``gdo.benchmarks.schema``)
- ``gdo benchmark check FILE`` = ``gdo.benchmarks.check.main``: every problem of a custom file
"""

from gdo.benchmarks.readers import read_benchmark
from gdo.benchmarks.schema import GROUP_FIELDS, KINDS, QUESTION_COLUMNS

__all__ = ["GROUP_FIELDS", "KINDS", "QUESTION_COLUMNS", "read_benchmark"]
