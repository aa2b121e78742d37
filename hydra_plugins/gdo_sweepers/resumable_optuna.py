"""``gdo.sweep_resume``'s resumable Optuna sweeper, where Hydra looks for plugins.

Defined only when hydra-optuna-sweeper is installed (the ``sweep`` extra), so Hydra's
plugin scan stays quiet without it.
"""

from __future__ import annotations

try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # pragma: no cover - the sweep extra is not installed
    OptunaSweeper = None

if OptunaSweeper is not None:

    class ResumableOptunaSweeper(OptunaSweeper):
        """hydra-optuna-sweeper's sweeper that finishes an interrupted study (gdo.sweep_resume)."""

        def sweep(self, arguments: list[str]) -> None:
            from gdo.sweep_resume import resume

            resume(self.sweeper)
            return self.sweeper.sweep(arguments)
