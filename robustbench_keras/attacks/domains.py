"""The L-BFGS attack on domains other than the [0, 1] box, by reparameterisation: the attack core is untouched.

- "unbounded" (R^d): the attack runs on u = 1/2 + x / (2 S), so its [0, 1] box is the cube [-S, S]^d of x;
  with S (`half_width`) far beyond the data (spheres: |x_i| ~ 1 / sqrt(d)) the box never binds, which the
  result checks (`cube_faces_touched` in the metadata). Distortions are taken back in x: ||r|| = 2 S ||r_u||.
- "sphere": the model is composed with the radial projection v -> rho v / |v| onto the sphere of the point's
  own radius rho (the paper's manifold attack). The attack minimises ||v - x|| over the cone of points
  projecting into the target region; that distance |x| sin(angle) grows with the angle to the nearest error,
  as does the chord 2 |x| sin(angle / 2), so the projected adversarial is the nearest error on the sphere.
  Distortions are reported as the chord, in the ambient space (plain L2; `distortion_rms` is L2 / sqrt(d)).
"""

import numpy as np
import tensorflow as tf

from robustbench_keras.attacks.records import AttackRecords
from robustbench_keras.attacks.run import run_attack
from robustbench_keras.errors import SuiteError


class _ToDomain(tf.keras.layers.Layer):
    """u in [0, 1]^d -> x = (u - 1/2) 2 S, then (sphere) projected to radius `radius`."""

    def __init__(self, half_width, radius=None, **kwargs):
        super().__init__(**kwargs)
        self.half_width, self.radius = float(half_width), radius

    def call(self, u):
        x = (u - 0.5) * (2.0 * self.half_width)
        if self.radius is None:
            return x
        return self.radius * x / tf.maximum(tf.norm(x, axis=-1, keepdims=True), 1e-12)


def wrapped(model, half_width, radius=None):
    """The model seen through `_ToDomain`: a Keras model on the attack's [0, 1]^d."""
    inputs = tf.keras.Input(model.input_shape[1:])
    return tf.keras.Model(inputs, model(_ToDomain(half_width, radius)(inputs)), name=f"{model.name}_domain")


def to_ambient(u, half_width, radius=None):
    """The inverse map of the attack's points, numpy: x = (u - 1/2) 2 S, projected when `radius`."""
    x = (np.asarray(u, dtype=np.float64) - 0.5) * 2.0 * half_width
    return x if radius is None else radius * x / np.linalg.norm(x, axis=1, keepdims=True)


def attack_in_domain(attack, model, x, labels, half_width=8.0, **run_options):
    """`run_attack` on the attack's `settings.domain`, distortions measured in the ambient space of x.

    Args:
        attack: e.g. `LBFGSAttack` (margin loss recommended: it converges to the minimal distortion); its
            `AttackSettings.domain` ("box", "unbounded" or "sphere") says where adversarials may lie.
        model: Keras model on flat inputs (n, d) returning logits.
        x: (n, d) inputs; for "unbounded" and "sphere" any real values inside the cube [-S, S]^d.
        labels: int (n,).
        half_width: S, the cube's half width for "unbounded" and "sphere".
        **run_options: passed to `run_attack` (target_policy, seed, targets, progress).

    Returns:
        AttackRecords in example order, x_adv and distortions in the ambient space.
    """
    domain = attack.settings.domain
    if domain == "box":
        return run_attack(attack, model, x, labels, **run_options)
    x = np.asarray(x, dtype=np.float64)
    if np.abs(x).max() >= half_width:
        raise SuiteError(f"attack: inputs reach {np.abs(x).max():g}, beyond the domain cube's half width "
                         f"{half_width:g}; raise half_width")
    radii = np.round(np.linalg.norm(x, axis=1), 5) if domain == "sphere" else np.zeros(len(x))
    parts, order = [], []
    for radius in np.unique(radii):
        rows = np.flatnonzero(radii == radius)
        sphere = float(radius) if domain == "sphere" else None
        records = run_attack(attack, wrapped(model, half_width, sphere), 0.5 + x[rows] / (2 * half_width),
                             labels[rows], **run_options)
        parts.append(_ambient(records, x[rows], half_width, sphere))
        order.append(rows)
    merged = AttackRecords.concatenate(parts, metadata={**parts[0].metadata, "domain": domain,
                                                         "half_width": float(half_width)})
    merged = merged.select(np.argsort(np.concatenate(order), kind="stable"))
    merged.index = np.arange(len(x))
    return merged


def _ambient(records, x, half_width, radius):
    """The records with x_adv and distortions mapped back to the ambient space (NaN where no success)."""
    u = records.x_adv.astype(np.float64)
    faces = int(np.sum(records.success & np.any((u <= 0.0) | (u >= 1.0), axis=1)))
    x_adv = to_ambient(u, half_width, radius)
    r = np.where(records.success[:, None], x_adv - x, np.nan)
    records.x_adv = np.where(records.success[:, None], x_adv, x).astype(np.float32)
    records.distortion_l2 = np.linalg.norm(r, axis=1)
    records.distortion_rms = records.distortion_l2 / np.sqrt(x.shape[1])
    records.distortion_linf = np.max(np.abs(r), axis=1)
    records.metadata = {**records.metadata, "cube_faces_touched": faces}
    return records
