"""Compiled batch kernels of the attack: one L-BFGS solve per c, the boundary step, margins.

All kernels work on a fixed batch of `batch_size` flat rows (the caller pads the last batch), so
each is traced once. The L-BFGS solve works on a (batch, m) position with a per-row c: by default
`batched_lbfgs.minimize` (per-row line searches, curvature memory carried across c steps), or
`tfp.optimizer.lbfgs_minimize` (lock-step line searches). Every call of the objective evaluates
every row, and the evaluation counters count every row.

The objective function also keeps, per row, the closest successful adversarial it has seen at
*any* evaluation, line-search trial points included (`best_x`, `best_sq_distance`): the point is
computed by the forward pass anyway, so this costs one masked update per call. As the boundary step
shortens every candidate afterwards, it also keeps the success whose boundary point promises to be
closest (`promising_x`): the point where the target margin, interpolated linearly between x (margin
m0) and the candidate (margin m1), reaches `success_margin`, at distance
`||r|| (success_margin - m0) / (m1 - m0)`, exact for affine models.
"""

import functools

import keras
import numpy as np
import tensorflow_probability as tfp

from robustbench_keras.attacks import batched_lbfgs, boundary_walk, restarts
from robustbench_keras.attacks.input_gradients import all_layers, fast_input_gradient_model
from robustbench_keras.attacks.objective import make_value_and_gradients, target_margin
from robustbench_keras.attacks.projection import polyhedron_projection
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()

# Layers whose gradients XLA's CPU backend computes several times slower than TensorFlow's kernels.
_SLOW_UNDER_XLA = tuple(getattr(keras.layers, name) for name in (
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv1D",
    "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D"))


def resolve_jit_compile(model, jit_compile):
    """Whether to compile the kernels for `model` with XLA: `jit_compile` itself when a bool; for
    "auto", true unless the model (or a model nested in it) has a layer in `_SLOW_UNDER_XLA`."""
    if isinstance(jit_compile, bool):
        return jit_compile
    return not any(isinstance(layer, _SLOW_UNDER_XLA) for layer in all_layers(model))


class BatchSolver:
    """The compiled kernels for one model, loss and batch shape.

    Args:
        model: Keras model returning logits (batch, classes); the kernels differentiate
            `input_gradients.fast_input_gradient_model(model)`.
        input_shape: per-example input shape of the model, e.g. (28, 28).
        settings: `AttackSettings`; its batch size, loss, solver and boundary-step settings shape the kernels.
    """

    def __init__(self, model, input_shape, settings):
        self.model = fast_input_gradient_model(model)
        self.settings = settings
        self.input_shape = tuple(int(d) for d in input_shape)
        self.batch_size = settings.batch_size
        self.num_features = 1
        for d in self.input_shape:
            self.num_features *= d
        self.success_margin = settings.success_margin
        self.num_classes = int(model(tf.zeros((1,) + self.input_shape), training=False).shape[-1])
        shape = (self.batch_size, self.num_features)
        self.best_x = tf.Variable(tf.zeros(shape), trainable=False)
        self.best_sq_distance = tf.Variable(tf.zeros(shape[:1]), trainable=False)
        self.promising_x = tf.Variable(tf.zeros(shape), trainable=False)
        self.promising_distance = tf.Variable(tf.zeros(shape[:1]), trainable=False)
        self.clean_margin = tf.Variable(tf.zeros(shape[:1]), trainable=False)
        self.num_calls = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.jit_compile = resolve_jit_compile(model, settings.jit_compile)
        self.solve = tf.function(self._solve, jit_compile=self.jit_compile, reduce_retracing=True)
        self.refine = tf.function(self._refine, jit_compile=self.jit_compile, reduce_retracing=True)
        self.margins = tf.function(self._margins, jit_compile=self.jit_compile, reduce_retracing=True)
        self.project = tf.function(self._project, jit_compile=self.jit_compile, reduce_retracing=True)
        self.walk = tf.function(self._walk, jit_compile=self.jit_compile, reduce_retracing=True)
        self.ddn = tf.function(self._ddn, jit_compile=self.jit_compile, reduce_retracing=True)
        self.stroke_start, self.competitor_start = (
            tf.function(functools.partial(self._restart, competitor=competitor), jit_compile=self.jit_compile,
                        reduce_retracing=True) for competitor in (False, True))

    def empty_memory(self):
        """A curvature memory with no pairs, for the first solve of a batch."""
        return batched_lbfgs.empty_memory(self.batch_size, self.num_features, self.settings.num_correction_pairs)

    def reset_best(self, best_x, best_sq_distance, clean_margin):
        """Sets the kept bests per row: float32 (batch, m) and (batch,), inf where none yet, and the
        target margin at the clean input (batch,)."""
        for x_variable, distance_variable in ((self.best_x, self.best_sq_distance),
                                              (self.promising_x, self.promising_distance)):
            x_variable.assign(best_x)
            distance_variable.assign(best_sq_distance)
        self.clean_margin.assign(clean_margin)
        self.num_calls.assign(0)

    def closest_refined(self, x, targets, candidates, active):
        """Each candidate through the boundary step; per row the closest result still adversarial.

        Args:
            x: float32 (batch, m) clean rows; targets: int32 (batch,); candidates: float32 arrays
            (batch, m), adversarial where `active` (bool (batch,)).

        Returns:
            (x_adv float32 (batch, m), int (batch,) index of the candidate it came from). A refined
            point that is no longer adversarial on a fresh forward pass falls back to its candidate.
        """
        results = []
        for candidate in candidates:
            refined = self.refine(x, targets, candidate, active).numpy()
            valid = self.margins(refined, targets).numpy() > self.success_margin
            results.append(np.where((active & ~valid)[:, None], candidate, refined))
        distances = np.stack([np.sum(np.square(result - x), axis=1) for result in results])
        chosen = np.argmin(distances, axis=0)
        return np.stack(results)[chosen, np.arange(len(x))], chosen

    def polished(self, x, targets, x_adv, active):
        """`x_adv` after the projection steps, the DDN second start, the stroke and competitor starts
        (`restarts.py`) and the boundary walk, in turn, each result through a boundary step and kept where
        closer; (batch, m).

        Args as `closest_refined`'s, with one candidate `x_adv` already on the boundary.
        """
        settings = self.settings
        stages = ((settings.num_projection_steps, self.project), (settings.num_ddn_steps, self.ddn),
                  (settings.num_restart_steps, self.stroke_start), (settings.num_restart_steps, self.competitor_start),
                  (settings.num_walk_steps, self.walk))
        for num_steps, stage in stages:
            if num_steps:
                refined, _ = self.closest_refined(x, targets, (stage(x, targets, x_adv, active).numpy(),), active)
                closer = np.sum(np.square(refined - x), axis=1) < np.sum(np.square(x_adv - x), axis=1)
                x_adv = np.where((active & closer)[:, None], refined, x_adv)
        return x_adv

    def _logits(self, x_flat):
        return self.model(tf.reshape(x_flat, (-1,) + self.input_shape), training=False)

    def _margins(self, x, targets):
        """`z_t - max_{j != t} z_j` at x, float32 (batch,)."""
        return target_margin(self._logits(x), targets)

    def _solve(self, x, targets, r0, c, memory, previous_c):
        """Minimises the objective from r0 with per-row c; updates the kept best.

        Args:
            x: float32 (batch, m) clean inputs; targets: int32 (batch,); r0: float32 (batch, m)
            starting perturbation; c: float32 (batch,); memory: `batched_lbfgs.Memory` of the
            previous solve, made with `previous_c` (batch,) (ignored by the "tfp" solver).

        Returns:
            (final r (batch, m), margin at clip(x + r) (batch,), objective (batch,), memory).
        """
        settings = self.settings
        value_and_gradients = make_value_and_gradients(
            self.model, x, targets, c, settings.loss, settings.kappa, self.input_shape)

        def tracked(r):
            value, gradient, logits = value_and_gradients(r)
            x_adv = tf.clip_by_value(x + r, 0.0, 1.0)
            sq_distance = tf.reduce_sum(tf.square(x_adv - x), axis=-1)
            margin = target_margin(logits, targets)
            success = margin > self.success_margin
            better = success & (sq_distance < self.best_sq_distance)
            self.best_x.assign(tf.where(better[:, None], x_adv, self.best_x))
            self.best_sq_distance.assign(tf.where(better, sq_distance, self.best_sq_distance))
            fraction = (self.success_margin - self.clean_margin) / tf.where(success, margin - self.clean_margin, 1.0)
            promised = tf.sqrt(sq_distance) * tf.clip_by_value(fraction, 0.0, 1.0)
            promising = success & (promised < self.promising_distance)
            self.promising_x.assign(tf.where(promising[:, None], x_adv, self.promising_x))
            self.promising_distance.assign(tf.where(promising, promised, self.promising_distance))
            self.num_calls.assign_add(1)
            return value, gradient

        if settings.inner_solver == "tfp":
            result = tfp.optimizer.lbfgs_minimize(
                tracked, initial_position=r0, stopping_condition=tfp.optimizer.converged_all,
                max_iterations=settings.tfp_max_iterations, num_correction_pairs=settings.num_correction_pairs,
                tolerance=settings.tolerance, f_relative_tolerance=settings.f_relative_tolerance,
                max_line_search_iterations=settings.tfp_max_line_search_iterations)
            value = result.objective_value
        else:
            result = batched_lbfgs.minimize(
                tracked, r0, batched_lbfgs.shift_memory(memory, c - previous_c),
                max_evaluations=settings.max_evaluations, tolerance=settings.tolerance,
                f_relative_tolerance=settings.f_relative_tolerance, lower=-x, upper=1.0 - x,
                max_rejections=settings.restart_after_rejections)
            memory, value = result.memory, result.value
        final = tf.clip_by_value(x + result.position, 0.0, 1.0)
        return result.position, self._margins(final, targets), value, memory

    def _walk(self, x, targets, x_adv, active):
        """`boundary_walk.walk` from x_adv on this model's target margin; float32 (batch, m)."""
        settings = self.settings
        return boundary_walk.walk(lambda point: self._margins(point, targets), x, x_adv, active,
                                  num_steps=settings.num_walk_steps, step=settings.walk_step,
                                  gamma=settings.walk_gamma, success_margin=self.success_margin)

    def _ddn(self, x, targets, x_adv, active):
        """`boundary_walk.ddn` from x on this model's target margin; float32 (batch, m)."""
        return boundary_walk.ddn(lambda point: self._margins(point, targets), x, x_adv, active,
                                 num_steps=self.settings.num_ddn_steps, success_margin=self.success_margin)

    def _restart(self, x, targets, x_adv, active, competitor):
        """`restarts.restart`: the stroke start, or (`competitor`) the competitor start, driven by the margin
        against the strongest other class at x_adv; float32 (batch, m)."""
        settings = self.settings
        drive, weights = None, restarts.STROKE_START
        if competitor:
            rivals = restarts.strongest_competitor(self._logits(x_adv), targets)
            drive, weights = restarts.competitor_drive(self._logits, targets, rivals), restarts.COMPETITOR_START
        return restarts.restart(
            lambda point: self._margins(point, targets), lambda point: self._refine(x, targets, point, active), x,
            x_adv, active, num_steps=settings.num_restart_steps, num_walk_steps=settings.num_restart_walk_steps,
            walk_step=settings.walk_step, walk_gamma=settings.walk_gamma, success_margin=self.success_margin,
            drive=drive, weights=restarts.stroke_weights(x, self.input_shape, **weights))

    def _competitor_gradients(self, point, targets):
        """The target margin at `point`, and per row the margins `z_t - z_j` to the
        `projection_competitors` largest other logits with their gradients: (batch,), (batch, k),
        (batch, k, m). One batched gradient evaluation over k copies of the batch."""
        k = min(self.settings.projection_competitors, self.num_classes - 1)
        rows = tf.shape(point)[0]
        with tf.GradientTape() as tape:
            copies = tf.reshape(tf.tile(point[None], [k, 1, 1]), (-1, self.num_features))
            tape.watch(copies)
            logits = tf.reshape(self._logits(copies), (k, rows, -1))
            one_hot = tf.one_hot(targets, tf.shape(logits)[-1])
            others = tf.where(one_hot > 0, -float("inf"), tf.stop_gradient(logits[0]))
            competitors = tf.math.top_k(others, k).indices  # (rows, k)
            target_logit = tf.reduce_sum(one_hot * logits, axis=-1)  # (k, rows)
            rival = tf.gather(tf.transpose(logits, (1, 0, 2)), competitors, batch_dims=2)  # (rows, k)
            margins = tf.transpose(target_logit) - rival
        gradients = tf.transpose(tf.reshape(tape.gradient(margins, copies), (k, rows, -1)), (1, 0, 2))
        return margins[:, 0], margins, gradients

    def _project(self, x, targets, x_adv, active):
        """Projection steps along the boundary from a boundary point; per row the closest success.

        Each step linearises the margins to the `projection_competitors` strongest other classes at the
        current success p (one gradient evaluation over that many copies of the batch) and tries the
        point a fraction `alpha` of the way from p to q, the point of the box closest to x where every
        linearised margin reaches 2 success_margin (`projection.polyhedron_projection`): at a corner of the target
        region, where several classes tie, one margin's plane alone leads out of it. A trial that is
        adversarial and closer becomes p and doubles `alpha` (at most 1); otherwise `alpha` shrinks by
        4 and p stays. On an affine model a fixed point is the exact minimal-distortion point.

        Returns:
            float32 (batch, m): the closest success reached (x_adv where none was closer), in the box.
        """
        goal = 2.0 * self.success_margin
        point = x_adv
        sq = tf.where(active, tf.reduce_sum(tf.square(x_adv - x), axis=-1), -1.0)
        alpha = tf.fill(tf.shape(sq), self.settings.projection_step)
        _, margins, gradients = self._competitor_gradients(point, targets)
        for _ in tf.range(self.settings.num_projection_steps):
            offsets = goal - margins + tf.einsum("bkm,bm->bk", gradients, point)
            target = polyhedron_projection(x, gradients, offsets)
            trial = point + alpha[:, None] * (target - point)
            trial_margin, trial_margins, trial_gradients = self._competitor_gradients(trial, targets)
            trial_sq = tf.reduce_sum(tf.square(trial - x), axis=-1)
            accept = (trial_margin > self.success_margin) & (trial_sq < sq)
            point = tf.where(accept[:, None], trial, point)
            margins = tf.where(accept[:, None], trial_margins, margins)
            gradients = tf.where(accept[:, None, None], trial_gradients, gradients)
            sq = tf.where(accept, trial_sq, sq)
            alpha = tf.where(accept, tf.minimum(2.0 * alpha, 1.0), 0.25 * alpha)
        return point

    def _refine(self, x, targets, x_adv, active):
        """Bisects the segment x -> x_adv for the point closest to x still classified as the target.

        Forward passes only. Rows where `active` is false are returned unchanged.

        Args:
            x, x_adv: float32 (batch, m), x_adv adversarial where active; targets: int32 (batch,);
            active: bool (batch,).

        Returns:
            float32 (batch, m), inside the box, adversarial where active.
        """
        low = tf.zeros(tf.shape(targets), tf.float32)
        high = tf.ones(tf.shape(targets), tf.float32)
        direction = x_adv - x
        for _ in range(self.settings.num_boundary_steps):
            middle = 0.5 * (low + high)
            point = tf.clip_by_value(x + middle[:, None] * direction, 0.0, 1.0)
            success = self._margins(point, targets) > self.success_margin
            high = tf.where(success, middle, high)
            low = tf.where(success, low, middle)
        closest = tf.clip_by_value(x + high[:, None] * direction, 0.0, 1.0)
        return tf.where((active & (high < 1.0))[:, None], closest, x_adv)

