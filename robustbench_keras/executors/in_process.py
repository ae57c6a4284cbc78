"""The default executor: every unit runs in this process, one after the other; no Ray needed."""

from robustbench_keras.executors.timings import UnitTiming, timed
from robustbench_keras.progress import Progress


class InProcessExecutor:
    """Runs units in order in the calling process.

    Attributes:
        timings: a `UnitTiming` per unit run so far, in completion order.
    """

    name = "in_process"

    def __init__(self, progress=True):
        self.progress = progress
        self.worker_progress = progress  # units run here, so their own progress lines can show
        self.timings = []

    def share_model(self, model):
        """A handle for `model` that units carry (here the model itself)."""
        return model

    def share_dataset(self, dataset):
        """A handle for `dataset` that units carry (here the dataset itself)."""
        return dataset

    def share(self, value):
        """A handle for a value many units read (here the value itself)."""
        return value

    def map(self, stage, function, units, on_done=None, labels=None, weights=None):
        """`[function(unit) for unit in units]`, with one progress line for the stage.

        Args:
            stage: the stage's name in the progress line and the timing table, e.g. "attack fc10-train".
            function: a module-level function of one unit (picklable by reference, for Ray).
            units: picklable units of work.
            on_done: optional `on_done(position, result)`, called in this process as each unit finishes.
            labels: optional name of each unit in the timing table (default: its position).
            weights: optional relative cost of each unit, for the progress line's ETA.

        Returns:
            The results, in the order of `units`.
        """
        results = []
        bar = Progress(stage, len(units), unit="unit", enabled=self.progress, weights=weights)
        for position, unit in enumerate(units):
            result, node, seconds = timed(function, unit)
            self.timings.append(UnitTiming(stage, unit_label(labels, position), node, seconds))
            if on_done is not None:
                on_done(position, result)
            results.append(result)
            bar.update()
        bar.close()
        return results

    def close(self):
        """Nothing to release."""


def unit_label(labels, position):
    """The name of unit `position` in the timing table: its label, else its position."""
    return str(position) if labels is None else str(labels[position])
