"""Benchmark readers, answer extraction, aggregation and checkpoint evaluation.

Public API:

- ``read_benchmark(path, kind, media_root=None) -> DataFrame``: MVBench / Video-MME / MLVU /
  LVBench (and ``custom``) in their real schemas, one row per question; ``path`` may be the
  dataset's folder as downloaded (``gdo.benchmarks.layouts.locate`` finds its files)
- ``extract_letter(text, options) -> str | None``; ``build_prompt(question, options, kind)``;
  ``PROMPT_VERSION`` / ``EXTRACT_VERSION`` (recorded in every result)
- ``aggregate(questions, predictions, kind) -> dict``: each benchmark's own rule
- ``predict(vlm, questions, kind, mode)``: answers by greedy generation or option likelihood
- ``export_lmms_eval(...)``: lmms-eval jobs for every checkpoint (docs/LMMS_EVAL.md; the
  frontier reads their results: ``gdo.frontier.import_lmms_eval``)
- ``gdo evaluate`` = ``gdo.evaluation.stage.run(cfg)``
"""

from gdo.benchmarks import GROUP_FIELDS, KINDS, read_benchmark
from gdo.evaluation.aggregate import RULES, Rule, aggregate, overall_accuracy, score_predictions
from gdo.evaluation.lmms_eval import export_lmms_eval, lmms_eval_command
from gdo.evaluation.predict import Predictions, predict
from gdo.evaluation.prompts import EXTRACT_VERSION, PROMPT_VERSION, build_prompt, extract_letter

__all__ = [
    "EXTRACT_VERSION",
    "GROUP_FIELDS",
    "KINDS",
    "PROMPT_VERSION",
    "RULES",
    "Predictions",
    "Rule",
    "aggregate",
    "build_prompt",
    "export_lmms_eval",
    "extract_letter",
    "lmms_eval_command",
    "overall_accuracy",
    "predict",
    "read_benchmark",
    "score_predictions",
]
