"""Box-constrained L-BFGS minimal-distortion attack (Szegedy et al. 2014, Section 4.1; arXiv 1312.6199).

For an input x in [0, 1]^m and a target label t, the attack looks for the smallest r with
`f(x + r) = t` and `x + r` in the box. Like the paper it minimises a penalty objective

    c * ||r||_2^2 + loss(clip(x + r, 0, 1), t)

(`objective.py`; squared L2 penalty, r kept in the box -x <= r <= 1 - x by the solver) and searches c per
example (`c_search.py`): with c on the distortion, the smallest successful r comes from the
*largest* c that still reaches the target. Batched over examples: each c step is one L-BFGS solve
on a (batch, m) position with a per-example c (`solver.py`), warm-started from the last successful
step's solution with the curvature memory carried over; examples left without an adversarial get a
second, more patient c search (`_rescue`). The closest success seen at any objective evaluation is kept
per example, then a boundary step (bisection on the segment x -> x_adv, forward passes only)
removes the overshoot that a finite c search leaves; projection steps along the linearised boundary,
a second start (DDN from x, `boundary_walk.ddn`), two more (stroke-weighted and competitor-driven DDN,
`restarts.py`) and a boundary walk (`boundary_walk.py`) then move each point toward x where that is
closer. Every returned input lies exactly in [0, 1].
"""

import dataclasses
import time
import weakref

import numpy as np

from robustbench_keras.attacks.c_search import CSearch
from robustbench_keras.attacks.distances import distortions
from robustbench_keras.attacks.records import AttackRecords
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.solver import BatchSolver
from robustbench_keras.progress import Progress

_SOLVERS = weakref.WeakKeyDictionary()  # model -> {(input shape, kernel options): BatchSolver}
# The rescue's batch: its rows are few (1 of 100 on the sigmoid MLP), and a full batch of padding copies
# cost 38% of the attack's time there; rows are independent, so the results are the same.
_RESCUE_BATCH_SIZE = 8


def balanced_batch_size(num_rows, batch_size):
    """The rows per batch when `num_rows` go in as few batches of at most `batch_size` as possible, evenly:
    100 rows at batch_size 64 run as 2 batches of 50, not 64 + 36 padded to 64 (22% fewer rows evaluated)."""
    num_rows = max(num_rows, 1)
    num_batches = -(-num_rows // batch_size)
    return -(-num_rows // num_batches)


class LBFGSAttack:
    """The paper's attack with a per-example c search, batched over examples.

    Args:
        settings: `AttackSettings` (defaults: the suites' attack).
    """

    def __init__(self, settings=None):
        self.settings = settings if settings is not None else AttackSettings()

    def solver(self, model, input_shape, batch_size=None):
        """The compiled kernels for `model`, this input shape and these settings, for batches of
        `batch_size` rows (default: the settings').

        Built once and shared by every attack with the same kernel options (the c search's settings
        do not enter the kernels), for as long as the model lives.
        """
        settings = self.settings if batch_size is None else dataclasses.replace(self.settings, batch_size=batch_size)
        key = (tuple(input_shape), settings.kernel_options())
        solvers = _SOLVERS.setdefault(model, {})
        if key not in solvers:
            solvers[key] = BatchSolver(model, input_shape, settings)
        return solvers[key]

    def run(self, model, x, targets, labels=None, progress=False, polish=True):
        """Attacks every example toward its target, in the fewest batches of at most `batch_size` examples,
        evenly filled (`balanced_batch_size`).

        Args:
            model: Keras model taking float32 (n, *input_shape) in [0, 1], returning logits (n, classes).
            x: float32 (n, *input_shape) in [0, 1].
            targets: int (n,), the label each example is pushed toward.
            labels: int (n,), true labels, only recorded (default: -1).
            progress: show a progress line.
            polish: run the stages after the c search's boundary step, and the rescue; False: the c search
                and its boundary step alone, a cheap first ranking of candidate targets (`run_attack`'s shortlist).

        Returns:
            AttackRecords, one row per example, in order (index = 0..n-1).
        """
        x = np.asarray(x, dtype=np.float32)
        n = len(x)
        targets = np.asarray(targets, dtype=np.int64).reshape(n)
        labels = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, dtype=np.int64).reshape(n)
        solver = self.solver(model, x.shape[1:], balanced_batch_size(n, self.settings.batch_size))
        flat = x.reshape(n, -1)
        bar = Progress("L-BFGS attack", n, unit="example", enabled=progress)
        columns = self._run_batches(solver, flat, targets, bar, polish=polish)
        bar.close()
        if polish:
            columns = self._rescue(model, x.shape[1:], flat, targets, columns)
        x_adv = columns.pop("x_adv").reshape(x.shape)
        measured = distortions(x, x_adv)
        failed = ~columns["success"]
        x_adv[failed] = x[failed]
        for key in ("rms", "l2", "linf"):
            measured[key][failed] = np.nan
        return AttackRecords(
            index=np.arange(n), label=labels, target=targets, x_adv=x_adv,
            distortion_rms=measured["rms"], distortion_l2=measured["l2"], distortion_linf=measured["linf"],
            metadata={"attack": self.settings.to_json()}, **columns)

    def _run_batches(self, solver, flat, targets, bar=None, fresh_memory=False, polish=True):
        """The c search on every flat row, `solver.batch_size` at a time; returns per-row columns."""
        parts = []
        for start in range(0, len(flat), solver.batch_size):
            stop = min(start + solver.batch_size, len(flat))
            parts.append(self._run_batch(solver, flat[start:stop], targets[start:stop], fresh_memory, polish))
            if bar is not None:
                bar.update(stop - start, info=f"{np.mean(np.concatenate([p['success'] for p in parts])):.0%} success")
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def _rescue(self, model, input_shape, flat, targets, columns):
        """Runs the c search again on the rows left without an adversarial, in batches of at most
        `_RESCUE_BATCH_SIZE` rows: twice the c steps, `rescue_evaluations` per solve, a fresh curvature memory
        at every c and no restarts; the rows still left then get the same search with the cross-entropy loss.
        Near-tied competitors make the margin's max switch class at every step and stall the solves (on a P1
        net one example needed c = 1e-11 and 7.7 in L2 with the margin, 3.8 with cross-entropy), while
        cross-entropy pushes every other class down at once; the polishing stages work on the margin whatever
        loss found the point."""
        settings = self.settings
        if not settings.rescue_evaluations:
            return columns
        for loss in dict.fromkeys((settings.loss, "cross_entropy")):
            failed = np.flatnonzero(~columns["success"])
            if not failed.size:
                break
            rescue = LBFGSAttack(dataclasses.replace(
                settings, loss=loss, max_evaluations=settings.rescue_evaluations, restart_after_rejections=0,
                num_c_steps=2 * settings.num_c_steps, batch_size=min(settings.batch_size, _RESCUE_BATCH_SIZE)))
            again = rescue._run_batches(rescue.solver(model, input_shape), flat[failed], targets[failed],
                                        fresh_memory=True)
            for key in ("num_grad_evals", "num_forward_evals", "time_s"):
                again[key] = again[key] + columns[key][failed]
            for key, values in again.items():
                columns[key][failed] = values
        return columns

    def _run_batch(self, solver, x, targets, fresh_memory=False, polish=True):
        """Runs the c search (and with `polish` the later stages) on up to `batch_size` flat rows; returns
        per-row columns."""
        started = time.perf_counter()
        rows = len(x)
        pad = solver.batch_size - rows
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        targets = np.concatenate([targets, np.repeat(targets[-1:], pad)]).astype(np.int32)
        # An example already classified as the target needs no perturbation.
        clean_margin = solver.margins(x, targets).numpy()
        already = clean_margin > self.settings.success_margin
        solver.reset_best(x, np.where(already, 0.0, np.inf).astype(np.float32), clean_margin)
        best_c = np.where(already, 0.0, np.nan)
        search = CSearch(self.settings.initial_c, len(x), self.settings.c_factor)
        # Each solve starts from the last successful solve's perturbation where there is one: after a
        # failure the last solution sits on the wrong side of the boundary, near x.
        start = np.zeros_like(x)
        memory, previous_c = solver.empty_memory(), search.c.astype(np.float32)
        for _ in range(self.settings.num_c_steps):
            before = (solver.best_sq_distance.numpy(), solver.promising_distance.numpy())
            c = search.c.astype(np.float32)
            if fresh_memory:
                memory, previous_c = solver.empty_memory(), c
            r, margin, _, memory = solver.solve(x, targets, start, c, memory, previous_c)
            previous_c = c
            improved = (solver.best_sq_distance.numpy() < before[0]) | (solver.promising_distance.numpy() < before[1])
            best_c = np.where(improved, search.c, best_c)
            succeeded = margin.numpy() > self.settings.success_margin
            restart = ~succeeded & (search.c_success > 0)
            start = np.where(restart[:, None], start, r.numpy())
            search.update(succeeded)
        found = np.isfinite(solver.best_sq_distance.numpy())
        # Both kept candidates go through the boundary step; the closer result is returned.
        x_adv, _ = solver.closest_refined(x, targets, (solver.best_x.numpy(), solver.promising_x.numpy()),
                                          found & ~already)
        # Then projection steps along the boundary, the DDN second start, the stroke and competitor starts and
        # the boundary walk, each with a boundary step, where closer.
        settings = self.settings
        if polish:
            x_adv = solver.polished(x, targets, x_adv, found & ~already)
        else:
            settings = dataclasses.replace(settings, num_projection_steps=0, num_ddn_steps=0, num_restart_steps=0,
                                           num_walk_steps=0)  # for the counts below
        success = found
        stages = (settings.num_projection_steps, settings.num_ddn_steps, settings.num_walk_steps)
        num_restarts = 2 if settings.num_restart_steps else 0  # each with an inner boundary step
        num_stages = 2 + sum(map(bool, stages)) + num_restarts
        num_forward = (1 + settings.num_c_steps + num_stages * (settings.num_boundary_steps + 1)
                       + num_restarts * settings.num_boundary_steps + num_restarts // 2)  # + the competitor's logits
        num_projection_evals = ((settings.num_projection_steps + 1) * settings.projection_competitors
                                if settings.num_projection_steps else 0)
        num_polish_evals = (num_projection_evals + settings.num_ddn_steps + settings.num_walk_steps
                            + num_restarts * (settings.num_restart_steps + settings.num_restart_walk_steps))
        elapsed = (time.perf_counter() - started) / rows
        return {
            "success": success[:rows], "c": best_c[:rows], "x_adv": x_adv[:rows],
            "num_grad_evals": np.full(rows, int(solver.num_calls.numpy()) + num_polish_evals),
            "num_forward_evals": np.full(rows, num_forward), "time_s": np.full(rows, elapsed),
        }
