"""The `ray` executor: units run as Ray tasks, on a local Ray started for the run or on an existing cluster.

Models travel through Ray's object store once (`ShippedModel`) and are loaded once per worker process;
tasks return results to the driver, which alone writes files. A task whose worker dies is retried by
Ray (`MAX_RETRIES`); units are idempotent, so a retry gives the same result.
"""

from robustbench_keras.errors import SuiteError, UserError
from robustbench_keras.executors import RAY_INSTALL_HINT
from robustbench_keras.executors.in_process import unit_label
from robustbench_keras.executors.shipping import ShippedModel, ShippedValue, model_bytes, pack_dataset
from robustbench_keras.executors.timings import UnitTiming, timed
from robustbench_keras.progress import Progress

MAX_RETRIES = 3


def import_ray():
    """The `ray` module, or a one-line SuiteError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SuiteError(RAY_INSTALL_HINT) from None
    return ray


class RayExecutor:
    """Runs units as Ray tasks; results come back in order, `on_done` is called as each one finishes.

    Args:
        address: an existing cluster (`ray.init(address=...)`); None: `RAY_ADDRESS`, else a local Ray.
        progress: show one progress line per stage (units done / total, across the cluster).

    A Ray already initialised in this process (a test's, a notebook's) is used as it is and left running.
    """

    name = "ray"

    def __init__(self, address=None, progress=True):
        ray = import_ray()
        self.progress = progress
        self.worker_progress = False  # a worker's lines would not reach this terminal
        self.timings = []
        self._shipped = {}  # id(model) or dataset id -> (object, its handle); the object is kept so that its id stays its own
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        self._task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(timed)

    def share_model(self, model):
        """A `ShippedModel`: the model's `.keras` bytes put once into the object store."""
        import ray

        if id(model) not in self._shipped:  # each model is put once per run, whichever scorer asks
            data, sha256 = model_bytes(model)
            self._shipped[id(model)] = (model, ShippedModel(sha256, [ray.put(data)]))
        return self._shipped[id(model)][1]

    def share_dataset(self, dataset):
        """A `ShippedValue` of the dataset's arrays (images as bytes), put once per run; cached per worker
        by the dataset's fingerprint id."""
        import ray

        key = dataset.fingerprint["id"]
        if key not in self._shipped:
            self._shipped[key] = (dataset, ShippedValue(key, [ray.put(pack_dataset(dataset))]))
        return self._shipped[key][1]

    def share(self, value):
        """A `ShippedValue` of `value`, put once into the object store, read by every unit that carries it."""
        import ray

        return ShippedValue(None, [ray.put(value)])

    def map(self, stage, function, units, on_done=None, labels=None, weights=None):
        """Like `InProcessExecutor.map`, with the units running as Ray tasks in parallel (units finish out
        of order, so `weights` are not used for the ETA)."""
        import ray

        pending = {self._task.remote(function, unit): position for position, unit in enumerate(units)}
        results = [None] * len(units)
        bar = Progress(stage, len(units), unit="unit", enabled=self.progress)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            position = pending.pop(done[0])
            result, node, seconds = _result(ray, done[0])
            self.timings.append(UnitTiming(stage, unit_label(labels, position), node, seconds))
            if on_done is not None:
                on_done(position, result)
            results[position] = result
            bar.update()
        bar.close()
        return results

    def close(self):
        """Shuts down the Ray this executor started (an existing one is left as it was)."""
        import ray

        if self._owns_ray and ray.is_initialized():
            ray.shutdown()


def _result(ray, reference):
    """A finished task's value; a user mistake raised inside it is raised again as itself (one line)."""
    try:
        return ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, UserError):
            raise error.cause from None
        raise
