"""The accuracy-vs-samples frontier: peak match, reduction, CIs, plots, report.

Public API:

- ``peak_match(samples, accuracies, target) -> PeakMatch(samples, interpolated, reached)``;
  ``reduction(baseline_samples, match)``
- ``paired_bootstrap_delta(...)`` / ``bootstrap_accuracy(...)`` -> ``Interval``: bootstrap
  intervals that respect each benchmark's aggregation; ``seed_interval(values)``
- ``collect(work_dir) -> DataFrame``: the frontier table from ``gdo evaluate``'s summaries;
  ``import_lmms_eval(root, benchmarks)``: its rows from lmms-eval's results (docs/LMMS_EVAL.md)
- ``compare(table, baseline) -> Comparison(main, subtasks)``
- ``plot_frontier`` / ``plot_dumbbell`` / ``plot_subtask_heatmap``
- ``gdo frontier`` = ``gdo.frontier.stage.run(cfg)``; several seeds: ``aggregate_seeds``
"""

from gdo.frontier.analysis import Comparison, compare
from gdo.frontier.bootstrap import (
    Interval,
    bootstrap_accuracy,
    paired_bootstrap_delta,
    seed_interval,
)
from gdo.frontier.lmms_eval import import_lmms_eval
from gdo.frontier.peak import PeakMatch, peak_match, reduction
from gdo.frontier.plots import plot_dumbbell, plot_frontier, plot_subtask_heatmap
from gdo.frontier.table import COLUMNS, collect, load_predictions

__all__ = [
    "COLUMNS",
    "Comparison",
    "Interval",
    "PeakMatch",
    "bootstrap_accuracy",
    "collect",
    "import_lmms_eval",
    "compare",
    "load_predictions",
    "paired_bootstrap_delta",
    "peak_match",
    "plot_dumbbell",
    "plot_frontier",
    "plot_subtask_heatmap",
    "reduction",
    "seed_interval",
]
