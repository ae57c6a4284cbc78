"""Runs a suite's scorers, in the suite's order, over a set of models and their entries."""

import time
from pathlib import Path

from robustbench_keras import scorers
from robustbench_keras.scorers.context import ScoringContext


def score_models(suite, dataset, models, entries, output, progress=True, only=None, executor=None):
    """Runs every scorer of `suite`; each writes its sections into the entries.

    Args:
        suite: the validated `Suite`.
        dataset: the loaded `Dataset`.
        models: {model id: keras model}.
        entries: {model id: `Entry`}, filled in place.
        output: the run's output folder (the leaderboard's).
        progress: show progress lines.
        only: ids to score in full (a submission); the other models then take part only in the
            transfer tables, through their cached attack records, and Table 5 is skipped.
        executor: where the scorers' units of work run (`robustbench_keras.executors`); None: in this process.

    Returns:
        The `ScoringContext` (samples, records, document sections, stage times) for the reports.
    """
    context = ScoringContext(suite, dataset, models, entries, Path(output), progress=progress,
                             scored=tuple(only or models), executor=executor)
    for name, settings in suite.scorers.items():
        start = time.perf_counter()
        scorers.get(name).run(settings, context)
        context.stage_times[f"{name}_s"] = time.perf_counter() - start
    return context
