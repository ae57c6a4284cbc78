"""Executors: where a suite's units of work run, in this process (`in_process`) or on Ray (`ray`).

A scorer hands an executor a list of independent units and gets their results back, in order:

    handle = context.executor.share_model(model)              # shipped once per worker
    results = context.executor.map("attack fc10", attack_chunk, units, on_done=save)

The units: training one missing zoo model and one model's clean errors (`pipeline/models.py`), attacking
one chunk of examples for one model (`scorers/attack_jobs.py`), one model's spectral bounds or Table 5's
AlexNet, one model's Property-1 analysis, and one model's transfer evaluations (`scorers/transfer.py`).

Each unit is a picklable tuple whose result is determined by its content (model checkpoint, example
indices, settings), so a retried unit gives the same result. `function(unit)` runs on a worker and
returns a result; `on_done(position, result)` runs in the driver as each unit finishes, so that only
the driver writes files. `resolve_model(handle)` turns a shared model back into a Keras model, and
`resolve_dataset` / `resolve_value` do the same for `share_dataset(dataset)` / `share(value)`.
"""

from robustbench_keras.executors.in_process import InProcessExecutor
from robustbench_keras.executors.shipping import resolve_dataset, resolve_model, resolve_value

EXECUTOR_NAMES = ("in_process", "ray")
RAY_INSTALL_HINT = 'executor: ray needs the ray extra; install it with pip install -e ".[ray]"'

__all__ = ["EXECUTOR_NAMES", "RAY_INSTALL_HINT", "InProcessExecutor", "make_executor", "resolve_dataset",
           "resolve_model", "resolve_value"]


def make_executor(name, ray_address=None, progress=True):
    """The executor called `name` ("in_process" or "ray"); Ray is imported only for "ray".

    Args:
        name: one of `EXECUTOR_NAMES`.
        ray_address: an existing cluster's address (e.g. "ray://head:10001" or "auto"); None: Ray's own
            `RAY_ADDRESS` variable, else a local Ray started for the run.
        progress: show progress lines.

    Raises:
        SuiteError: "ray" without the `ray` extra installed.
    """
    if name == "ray":
        from robustbench_keras.executors.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, progress=progress)
    return InProcessExecutor(progress=progress)
