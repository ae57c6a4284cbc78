"""The `ray` executor: units run on Ray actors, one per CPU of a local Ray started for the run or of an
existing cluster.

Models travel through Ray's object store once (`ShippedModel`) and are loaded once per worker process;
tasks return results to the driver, which alone writes files. Each actor runs one unit at a time and keeps
what units load (models, datasets, the attack's compiled kernels), and the driver gives a free actor a unit
of a model it already holds when there is one (a model's kernels are then traced by as few workers as the
load allows). An actor whose process dies is restarted and its unit retried by Ray (up to `MAX_RETRIES`
times); units are idempotent, so a retry gives the same result.
"""

import os

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


class Worker:
    """A Ray actor (one CPU) that runs units one after the other in its own process."""

    def __init__(self):
        from robustbench_keras import scorers  # noqa: F401  (imports TensorFlow while the driver loads data)
        from robustbench_keras.pipeline import models  # noqa: F401

    def run(self, function, unit):
        """`timed(function, unit)`."""
        return timed(function, unit)


class RayExecutor:
    """Runs units on Ray actors; results come back in order, `on_done` is called as each one finishes.

    Args:
        address: an existing cluster (`ray.init(address=...)`); None: `RAY_ADDRESS`, else a local Ray.
        progress: show one progress line per stage (units done / total, across the cluster).

    A Ray already initialised in this process (a test's, a notebook's) is used as it is and left running.
    The actors (one per CPU of the cluster) start at once, and stop with `close()` or with the executor.
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
            # Ray starts workers 15 niceness steps behind the driver, so that on a busy machine they get a
            # fraction of their share; a Ray started here runs them at the driver's priority, as the
            # in-process executor runs its units (an existing cluster keeps its own setting).
            os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        # An actor holds nothing that cannot be fetched again, so it is always restarted; a unit is retried
        # up to MAX_RETRIES times (Ray's memory monitor's kills are retried apart, without limit).
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=MAX_RETRIES,
                           runtime_env={"env_vars": blas_threads()})(Worker)
        self._actors = [actor.remote() for _ in range(max(1, int(ray.cluster_resources().get("CPU", 1))))]
        self._held = [set() for _ in self._actors]  # sha256 of the models each actor has been given

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
        """Like `InProcessExecutor.map`, with the units running on the actors in parallel; with `weights`, the
        costliest first, after those of models the actor holds (units finish out of order, so the weights are
        not used for the ETA)."""
        import ray

        order = list(range(len(units)))
        if weights is not None:
            order.sort(key=lambda position: -weights[position])
        needs = [_models_of(unit) for unit in units]
        free, running, results = list(range(len(self._actors))), {}, [None] * len(units)
        bar = Progress(stage, len(units), unit="unit", enabled=self.progress)
        while order or running:
            while free and order:
                actor = free.pop(0)
                position = self._next_unit(actor, order, needs)
                order.remove(position)
                self._held[actor] |= needs[position]
                running[self._actors[actor].run.remote(function, units[position])] = actor, position
            done, _ = ray.wait(list(running), num_returns=1)
            actor, position = running.pop(done[0])
            free.append(actor)
            result, node, seconds = _result(ray, done[0])
            self.timings.append(UnitTiming(stage, unit_label(labels, position), node, seconds))
            if on_done is not None:
                on_done(position, result)
            results[position] = result
            bar.update()
        bar.close()
        return results

    def _next_unit(self, actor, order, needs):
        """The unit for a free actor: the first one whose models it holds, else the first one whose models
        no other actor holds, else the first one left."""
        others = set().union(*(held for index, held in enumerate(self._held) if index != actor))
        for position in order:
            if needs[position] and needs[position] <= self._held[actor]:
                return position
        return next((position for position in order if needs[position].isdisjoint(others)), order[0])

    def close(self):
        """Stops the actors, and the Ray this executor started (an existing one is left running)."""
        import ray

        if not ray.is_initialized():
            return
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._owns_ray:
            ray.shutdown()


def blas_threads():
    """The BLAS thread settings of this process, for the workers: Ray would give a one-CPU actor one BLAS
    thread, and a BLAS product summed by another number of threads differs in its last bits (the spectral
    bounds did), so workers use the driver's number (its `*_NUM_THREADS` variables, else one per core)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    settings = {name: os.environ[name] for name in names if name in os.environ}
    return {"OMP_NUM_THREADS": str(os.cpu_count() or 1), **settings}


def _models_of(unit):
    """The sha256 of the shipped models a unit reads (it may be a tuple holding `ShippedModel`s)."""
    items = unit if isinstance(unit, tuple) else (unit,)
    return {item.sha256 for item in items if isinstance(item, ShippedModel)}


def _result(ray, reference):
    """A finished task's value; a user mistake raised inside it is raised again as itself (one line)."""
    try:
        return ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, UserError):
            raise error.cause from None
        raise
