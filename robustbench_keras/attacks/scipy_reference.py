"""The per-example SciPy baseline: Foolbox 1.x/2.x's method, with this suite's objective and c search.

One example at a time, each c step is one `scipy.optimize.minimize(method="L-BFGS-B")` solve with
true bounds `-x <= r <= 1 - x`, value and gradient from the same Keras model through a
`tf.function` for one example. Everything else is the batched attack's: the loss, the c search
(`CSearch`), warm starts, the closest success kept at any evaluation and the boundary step. It is
the cross-check of the batched solver and the baseline of the benchmarks.
"""

import dataclasses
import time

import numpy as np
import scipy.optimize

from robustbench_keras.attacks.c_search import CSearch
from robustbench_keras.attacks.distances import distortions
from robustbench_keras.attacks.objective import make_value_and_gradients, target_margin
from robustbench_keras.attacks.records import AttackRecords
from robustbench_keras.attacks.solver import BatchSolver
from robustbench_keras.progress import Progress
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()

# The c search the reference runs in the benchmarks: it has none of the batched attack's polishing stages, so
# it keeps the 4 c steps of 50 evaluations that were the attack's defaults before its budget was cut to 2 x 25.
REFERENCE_C_SEARCH = {"num_c_steps": 4, "max_evaluations": 50}


def run_reference(settings, model, x, targets, labels=None, progress=False):
    """Attacks each example alone with SciPy's L-BFGS-B, with the batched attack's settings.

    `max_evaluations` and `num_correction_pairs` become L-BFGS-B's `maxfun` and `maxcor`;
    `tolerance` its `gtol` and `f_relative_tolerance` its `ftol`.

    Args:
        settings: the `AttackSettings` to use.
        model, x, targets, labels, progress: as `LBFGSAttack.run`.

    Returns:
        AttackRecords like `LBFGSAttack.run`; metadata names the SciPy solver.
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    shape = x.shape[1:]
    flat = x.reshape(n, -1)
    targets = np.asarray(targets, dtype=np.int64).reshape(n)
    labels = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, dtype=np.int64).reshape(n)
    kernels = BatchSolver(model, shape, dataclasses.replace(settings, batch_size=1, jit_compile=False))

    @tf.function(reduce_retracing=True)
    def value_and_gradients(r, x_row, target, c):
        value, gradient, logits = make_value_and_gradients(
            model, x_row, target, c, settings.loss, settings.kappa, shape)(r)
        return value[0], gradient[0], target_margin(logits, target)[0]

    columns = {key: [] for key in ("success", "c", "x_adv", "num_grad_evals", "num_forward_evals", "time_s")}
    bar = Progress("SciPy L-BFGS-B reference", n, unit="example", enabled=progress)
    for i in range(n):
        started = time.perf_counter()
        row = _attack_one(settings, kernels, value_and_gradients, flat[i:i + 1], targets[i:i + 1].astype(np.int32))
        row["time_s"] = time.perf_counter() - started
        for key, value in row.items():
            columns[key].append(value)
        bar.update(1)
    bar.close()
    x_adv = np.stack(columns.pop("x_adv")).reshape(x.shape)
    success = np.array(columns["success"])
    measured = distortions(x, x_adv)
    for key in measured:
        measured[key][~success] = np.nan
    metadata = {"attack": dict(settings.to_json(), inner_solver="scipy.optimize.minimize(method='L-BFGS-B')",
                               batch_size=1, jit_compile=False)}
    return AttackRecords(index=np.arange(n), label=labels, target=targets, x_adv=x_adv,
                         distortion_rms=measured["rms"], distortion_l2=measured["l2"],
                         distortion_linf=measured["linf"], metadata=metadata,
                         **{key: np.array(value) for key, value in columns.items()})


def _attack_one(settings, kernels, value_and_gradients, x, target):
    """The c search for one flat example x (1, m); returns its record fields."""
    clean_margin = kernels.margins(x, target).numpy()
    if clean_margin[0] > settings.success_margin:
        return {"success": True, "c": 0.0, "x_adv": x[0], "num_grad_evals": 0,
                "num_forward_evals": 1}
    x_row, target_t = tf.constant(x), tf.constant(target)
    best = {"sq_distance": np.inf, "x": x[0], "c": np.nan}
    promising = {"distance": np.inf, "x": x[0], "c": np.nan}
    num_calls = 0

    def fun(r, c_t, c):
        nonlocal num_calls
        num_calls += 1
        value, gradient, margin = value_and_gradients(tf.constant(r[None], tf.float32), x_row, target_t, c_t)
        if margin.numpy() > settings.success_margin:
            x_adv = np.clip(x[0] + r.astype(np.float32), 0.0, 1.0)
            sq_distance = float(np.sum(np.square(x_adv - x[0])))
            if sq_distance < best["sq_distance"]:
                best.update(sq_distance=sq_distance, x=x_adv, c=c)
            fraction = (settings.success_margin - clean_margin[0]) / (float(margin.numpy()) - clean_margin[0])
            promised = np.sqrt(sq_distance) * min(max(fraction, 0.0), 1.0)
            if promised < promising["distance"]:
                promising.update(distance=promised, x=x_adv, c=c)
        return float(value.numpy()), gradient.numpy().astype(np.float64)

    bounds = scipy.optimize.Bounds(-x[0].astype(np.float64), 1.0 - x[0].astype(np.float64))
    search = CSearch(settings.initial_c, 1, settings.c_factor)
    r = np.zeros(x.shape[1])
    for _ in range(settings.num_c_steps):
        c = float(search.c[0])
        result = scipy.optimize.minimize(
            fun, r, args=(tf.constant([c], tf.float32), c), jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxfun": settings.max_evaluations, "maxcor": settings.num_correction_pairs,
                     "gtol": settings.tolerance, "ftol": settings.f_relative_tolerance})
        r = result.x
        final = np.clip(x + r.astype(np.float32), 0.0, 1.0)
        search.update(kernels.margins(final, target).numpy() > settings.success_margin)
    found = np.isfinite(best["sq_distance"])
    if not found:
        return {"success": False, "c": np.nan, "x_adv": x[0], "num_grad_evals": num_calls,
                "num_forward_evals": 1 + settings.num_c_steps}
    # As in the batched attack: both kept candidates go through the boundary step, the closer wins.
    x_adv, chosen = kernels.closest_refined(x, target, (best["x"][None], promising["x"][None]), np.array([True]))
    x_adv, c = x_adv[0], (best, promising)[int(chosen[0])]["c"]
    return {"success": True, "c": c, "x_adv": x_adv, "num_grad_evals": num_calls,
            "num_forward_evals": 1 + settings.num_c_steps + 2 * (settings.num_boundary_steps + 1)}
