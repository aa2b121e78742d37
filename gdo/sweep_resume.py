"""An Optuna sweeper that resumes: ``gdo run -m sweep=optuna hydra.sweep.dir=<old dir>``.

hydra-optuna-sweeper loads an existing study (``load_if_exists``) but then asks for
``n_trials`` more and numbers the new jobs from 0, so a rerun both overshoots and writes
into the finished points' folders. :class:`ResumableOptunaSweeper` runs only the trials
the study still lacks (``n_trials`` minus its completed ones) and numbers new jobs after
every trial the study holds (a trial asked but never finished keeps its number), and
reseeds the sampler so the new trials are not the old ones drawn again. Hydra instantiates sweepers only from the ``hydra_plugins``
package, so the class lives in ``hydra_plugins/gdo_sweepers/resumable_optuna.py``. ``conf/sweep/optuna.yaml`` keeps the study in
``<sweep dir>/optuna.db`` (SQLite: needs SQLAlchemy < 2 under optuna 2.x, see pyproject).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SQLITE = "sqlite:///"


def study_progress(storage: Any, study_name: str | None) -> tuple[int, int]:
    """(completed trials, all trials) of the stored study; (0, 0) when there is none yet.

    A SQLite storage's folder is created here: optuna only creates the file.
    """
    import optuna

    if not storage or not study_name:
        return 0, 0
    url = str(storage)
    if url.startswith(SQLITE):
        Path(url[len(SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
    names = {s.study_name for s in optuna.study.get_all_study_summaries(storage=url)}
    if study_name not in names:
        return 0, 0
    trials = optuna.load_study(study_name=study_name, storage=url).get_trials(deepcopy=False)
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    return done, len(trials)


def resume(impl: Any) -> None:
    """Set an OptunaSweeperImpl to run only the missing trials, numbered after the held ones."""
    done, held = study_progress(impl.storage, impl.study_name)
    if held:
        log.info(
            "optuna study %s: %d of %d trials complete (%d held), running %d more",
            impl.study_name,
            done,
            impl.n_trials,
            held,
            max(0, int(impl.n_trials) - done),
        )
        # A seeded sampler would replay the interrupted run's draws from its start.
        reseed = getattr(impl.sampler, "reseed_rng", None)
        if reseed is not None:
            reseed()
    impl.n_trials = max(0, int(impl.n_trials) - done)
    impl.job_idx = held  # new job folders after every earlier trial's


def register_plugins() -> None:
    """Register gdo's Hydra plugins with Hydra (``gdo.cli`` calls it before Hydra starts).

    Hydra finds plugins by walking the ``hydra_plugins`` package, which misses packages
    installed in editable mode (``make install``); registering them explicitly works for
    every kind of install. A no-op without the ``sweep`` extra.
    """
    try:
        from hydra.core.plugins import Plugins

        from hydra_plugins.gdo_sweepers import resumable_optuna
    except ImportError:  # pragma: no cover - no hydra-optuna-sweeper
        return
    if getattr(resumable_optuna, "OptunaSweeper", None) is not None:
        Plugins.instance().register(resumable_optuna.ResumableOptunaSweeper)
