"""Training with a pool of adversarial examples (Szegedy et al. 2014, arXiv 1312.6199, Section 4.2).

"A pool of adversarial examples a random subset of which is continuously replaced by newly generated
adversarial examples and which is mixed into the original training set all the time." A `Pool` holds
points and their true labels; every `refresh_epochs` epochs a `refresh_fraction` of it is replaced by
points the project's batched L-BFGS attack (small budget, `AdversarialTraining.num_c_steps` and
`max_evaluations`) finds against the model being trained, from fresh training examples. Each epoch's
batches carry `mix_ratio` pool points (`mixed_epoch`).

Level "input" attacks the whole model on images. Level "layer" keeps one pool per hidden layer k
(every hidden layer, or those in `AdversarialTraining.layers`):
points in the space of layer k's sigmoid outputs (in [0, 1], so the box attack applies) made against
the sub-model of the layers above k, which alone they train; the layers alternate epoch by epoch, and
every epoch also trains the whole model on the clean data. Each epoch's test error and the pool's mean
RMS distortion go into the returned history.
"""

import dataclasses
import time
import weakref

import numpy as np

from robustbench_keras.attacks import LBFGSAttack, choose_targets
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.evaluation import error_rate
from robustbench_keras.progress import Progress
from robustbench_keras.quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)

ATTACK_BATCH_SIZE = 256  # rows per compiled attack batch, at most
ATTACK_JIT_COMPILE = "auto"  # the pool attack's `AttackSettings.jit_compile` (tiny test pools skip XLA's compile)
_UPPERS = weakref.WeakKeyDictionary()  # model -> {layer index: the model of the layers above}


@dataclasses.dataclass
class Pool:
    """Adversarial points of one space with their true labels; `distortion_rms` per point (NaN: failed)."""

    x: np.ndarray
    y: np.ndarray
    distortion_rms: np.ndarray


def upper_model(model, layer_index):
    """The layers above hidden layer `layer_index` (1-based) as a model on that layer's outputs.

    It shares its layers (and weights) with `model`; dropout layers are skipped (the attack sees the
    deterministic network). Built once per model and layer, so the attack's kernels compile once.
    """
    uppers = _UPPERS.setdefault(model, {})
    if layer_index not in uppers:
        uppers[layer_index] = _build_upper(model, layer_index)
    return uppers[layer_index]


def _build_upper(model, layer_index):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    inputs = keras.Input((dense[layer_index - 1].units,), name=f"hidden_{layer_index}_output")
    h = inputs
    for layer in dense[layer_index:]:
        h = layer(h)
    return keras.Model(inputs, h, name=f"{model.name}_above_{layer_index}")


def features(model, layer_index, x):
    """Hidden layer `layer_index`'s outputs for images x: float32 (n, units) in [0, 1]."""
    if layer_index == 0:
        return np.asarray(x, np.float32)
    probe = keras.Model(model.inputs, model.get_layer(f"hidden_{layer_index}").output)
    return np.asarray(probe.predict(x, batch_size=1024, verbose=0), np.float32)


def attack_points(settings, model, x, y, seed):
    """Adversarial versions of x against `model` (logits out) with the recipe's small attack budget."""
    # One batch size per pool (the solver pads every batch to it), so a run compiles its kernels once.
    attack = LBFGSAttack(AttackSettings(num_c_steps=settings.num_c_steps, max_evaluations=settings.max_evaluations,
                                        rescue_evaluations=settings.max_evaluations, num_restart_steps=0,
                                        batch_size=min(ATTACK_BATCH_SIZE, settings.pool_size),
                                        jit_compile=ATTACK_JIT_COMPILE))
    targets = choose_targets(settings.target_policy, model, x, y, seed=seed)
    records = attack.run(model, x, targets, y)
    return records.x_adv, records.distortion_rms


def refresh(pool, settings, model, space_x, y, rng):
    """A pool with a random `refresh_fraction` (all of it when `pool` is None) replaced by new points.

    Args:
        pool: the current `Pool`, or None before the first fill.
        settings: `AdversarialTraining`.
        model: the attacked model on `space_x`'s space.
        space_x: clean training points in that space (images or a layer's outputs); y: their labels.
        rng: numpy Generator choosing the replaced slots and the fresh examples.
    """
    size = min(settings.pool_size, len(space_x))
    slots = np.arange(size) if pool is None else rng.choice(size, max(1, round(settings.refresh_fraction * size)),
                                                            replace=False)
    chosen = rng.choice(len(space_x), len(slots), replace=False)
    x_adv, rms = attack_points(settings, model, space_x[chosen], y[chosen], seed=int(rng.integers(2**31)))
    if pool is None:
        return Pool(x_adv, y[chosen].copy(), rms)
    x_new, y_new, rms_new = pool.x.copy(), pool.y.copy(), pool.distortion_rms.copy()
    x_new[slots], y_new[slots], rms_new[slots] = x_adv, y[chosen], rms
    return Pool(x_new, y_new, rms_new)


def mixed_epoch(x, y, pool, batch_size, mix_ratio, rng):
    """One epoch's examples in batch order: each batch of `batch_size` holds round(mix_ratio · batch_size)
    pool points drawn at random and the rest clean points, the clean set shuffled once.

    Returns:
        (x_mix, y_mix); consecutive `batch_size` rows are one batch (fit with shuffle=False).
    """
    num_pool = round(mix_ratio * batch_size) if pool is not None else 0
    num_clean = batch_size - num_pool
    order = rng.permutation(len(x))
    xs, ys = [], []
    for start in range(0, len(x), num_clean):
        clean = order[start:start + num_clean]
        picked = rng.integers(len(pool.y), size=num_pool) if num_pool else np.zeros(0, np.int64)
        xs.extend([x[clean], pool.x[picked]] if num_pool else [x[clean]])
        ys.extend([y[clean], pool.y[picked]] if num_pool else [y[clean]])
    return np.concatenate(xs), np.concatenate(ys)


def _compile(model, recipe, num_steps):
    from robustbench_keras.zoo.training import optimizer

    model.compile(optimizer=optimizer(recipe, recipe.learning_rate, num_steps),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def _fit_one_epoch(model, x, y, batch_size):
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


class _Trainer:
    """One adversarial training run: the pools, the compiled models and the history."""

    def __init__(self, model, recipe, x, y, seed):
        self.model, self.recipe, self.settings = model, recipe, recipe.adversarial
        self.x, self.y = x, y
        self.rng = np.random.default_rng(seed)
        self.batch_size = recipe.batch_size
        steps = recipe.epochs * -(-len(x) // round(recipe.batch_size * (1 - self.settings.mix_ratio)))
        _compile(model, recipe, steps)
        self.layers = [0] if self.settings.level == "input" else list(
            self.settings.layers or range(1, self._num_hidden() + 1))
        if max(self.layers) > self._num_hidden():
            raise ValueError(f"AdversarialTraining.layers: {model.name} has {self._num_hidden()} hidden layers, "
                             f"got {self.settings.layers}")
        self.uppers = {k: upper_model(model, k) if k else model for k in self.layers}
        self.pools = dict.fromkeys(self.layers)
        self.turns = dict.fromkeys(self.layers, 0)
        if self.settings.level == "layer":
            for k in self.layers:
                _compile(self.uppers[k], recipe, steps)
        self.attack_time_s = 0.0

    def _num_hidden(self):
        return sum(layer.name.startswith("hidden_") for layer in self.model.layers)

    def _refresh(self, k):
        start = time.perf_counter()
        space_x = features(self.model, k, self.x)
        self.pools[k] = refresh(self.pools[k], self.settings, self.uppers[k], space_x, self.y, self.rng)
        self.attack_time_s += time.perf_counter() - start
        return space_x

    def epoch(self, index):
        """Trains one epoch; returns the pool layer trained (0: input)."""
        k = self.layers[index % len(self.layers)]
        space_x = None
        if self.turns[k] % self.settings.refresh_epochs == 0:
            space_x = self._refresh(k)
        self.turns[k] += 1
        if k == 0:
            _fit_one_epoch(self.model, *mixed_epoch(self.x, self.y, self.pools[0], self.batch_size,
                                                    self.settings.mix_ratio, self.rng), self.batch_size)
            return k
        _fit_one_epoch(self.model, *mixed_epoch(self.x, self.y, None, self.batch_size, 0.0, self.rng), self.batch_size)
        space_x = features(self.model, k, self.x) if space_x is None else space_x
        ratio = self.settings.mix_ratio
        num_clean = min(len(space_x), round(len(self.pools[k].y) * (1 - ratio) / max(ratio, 1e-9)))
        clean = self.rng.choice(len(space_x), num_clean, replace=False)
        _fit_one_epoch(self.uppers[k], *mixed_epoch(space_x[clean], self.y[clean], self.pools[k], self.batch_size,
                                                    ratio, self.rng), self.batch_size)
        return k


def train(model, recipe, x, y, seed=0, progress=True, x_test=None, y_test=None):
    """Trains `model` in place by `recipe` (whose `adversarial` is set) on images x with labels y.

    Args:
        model: a dense zoo model (`zoo.build`), logits out, hidden layers "hidden_1", ...
        recipe: its `Recipe` with `adversarial` settings.
        x: float32 (N, 28, 28) in [0, 1]; y: int (N,) labels.
        seed: seeds Keras, the pools' draws and the attack's targets.
        progress: one progress line per epoch on stderr.
        x_test, y_test: if given, the test error is recorded after every epoch.

    Returns:
        A JSON-able dict: "history" (per epoch: epoch, layer, test_error, pool_distortion_rms, the mean
        RMS distortion of the pool's successful points) and "attack_time_s" (time spent attacking).
    """
    keras.utils.set_random_seed(seed)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    trainer = _Trainer(model, recipe, x, y, seed)
    history = []
    with Progress(f"adversarial training {model.name}", total=recipe.epochs, unit="epoch", enabled=progress) as bar:
        for index in range(recipe.epochs):
            k = trainer.epoch(index)
            rms = trainer.pools[k].distortion_rms
            row = {"epoch": index + 1, "layer": int(k),
                   "pool_distortion_rms": float(np.nanmean(rms)) if np.isfinite(rms).any() else None,
                   "test_error": error_rate(model, x_test, y_test) if x_test is not None else None}
            history.append(row)
            bar.update(1, info=f"test error {row['test_error']}" if x_test is not None else "")
    return {"history": history, "attack_time_s": trainer.attack_time_s}
