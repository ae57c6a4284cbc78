"""Seeded training of a zoo model by its recipe (`zoo/recipes.py`), with per-epoch progress.

Cross-entropy on logits plus the layers' L2 penalties, Keras `fit` with `verbose=0`; progress goes
through `robustbench_keras.progress.Progress`. AE400-10 first trains its "hidden_1" layer as the
encoder of a sigmoid autoencoder (binary cross-entropy on the pixels, decoder discarded), then the
softmax on top, as in the paper's Table 1.
"""

import numpy as np

from robustbench_keras.progress import Progress
from robustbench_keras.quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)


class _EpochProgress(keras.callbacks.Callback):
    """Advances a `Progress` bar by one epoch, showing the epoch's mean loss."""

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(1, info=f"loss {(logs or {}).get('loss', float('nan')):.4f}")


class _TestErrorHistory(keras.callbacks.Callback):
    """Appends {"epoch", "test_error"} to `history` after every epoch."""

    def __init__(self, history, x_test, y_test):
        super().__init__()
        self.history_rows, self.x_test, self.y_test = history, x_test, y_test

    def on_epoch_end(self, epoch, logs=None):
        from robustbench_keras.evaluation import error_rate

        self.history_rows.append({"epoch": epoch + 1, "test_error": error_rate(self.model, self.x_test, self.y_test)})


def optimizer(recipe, learning_rate, num_steps):
    """The recipe's optimiser with its schedule over `num_steps` steps.

    Named explicitly: Keras would name a process's second SGD "sgd_1", and the name is saved with the
    model, so the same training would give other `.keras` bytes in a process that trained before.
    """
    if recipe.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=num_steps)
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, name="sgd")
    return keras.optimizers.Adam(learning_rate, name="adam")


def _fit(model, x, y, recipe, epochs, learning_rate, loss, desc, progress, callbacks=()):
    num_steps = epochs * -(-len(x) // recipe.batch_size)
    model.compile(optimizer=optimizer(recipe, learning_rate, num_steps), loss=loss)
    with Progress(desc, total=epochs, unit="epoch", enabled=progress) as bar:
        model.fit(
            x, y, batch_size=recipe.batch_size, epochs=epochs, shuffle=True, verbose=0,
            callbacks=[*callbacks, _EpochProgress(bar)],
        )


def _pretrain_autoencoder(model, x, recipe, progress):
    """Trains `model`'s "hidden_1" as the encoder of a sigmoid autoencoder on the images `x`."""
    encoder = model.get_layer("hidden_1")
    flat = keras.layers.Flatten()
    decoder = keras.layers.Dense(
        int(np.prod(x.shape[1:])),
        activation="sigmoid",
        kernel_regularizer=encoder.kernel_regularizer,
        name="reconstruction",
    )
    inputs = keras.Input(x.shape[1:])
    pixels = flat(inputs)
    autoencoder = keras.Model(inputs, decoder(encoder(pixels)))
    targets = x.reshape(len(x), -1)
    _fit(
        autoencoder,
        x,
        targets,
        recipe,
        recipe.pretrain_epochs,
        recipe.pretrain_learning_rate,
        keras.losses.BinaryCrossentropy(),
        f"pretraining {model.name} autoencoder",
        progress,
    )


def train(model, recipe, x, y, seed=0, progress=True, x_test=None, y_test=None, history=None):
    """Trains `model` in place by `recipe` on images `x` with labels `y`.

    Args:
        model: a zoo model (`zoo.build`), logits out.
        recipe: its `Recipe`.
        x: float32 (N, 28, 28) in [0, 1].
        y: int (N,) class labels 0-9.
        seed: seeds Keras's, NumPy's and TensorFlow's generators (shuffling, decoder weights), so the
            same seed and starting weights give the same trained weights on one machine.
        progress: show one progress line per phase on stderr.
        x_test, y_test, history: with all three given, {"epoch", "test_error"} of every supervised epoch
            is appended to the list `history` (as `zoo.adversarial_training.train` records it).

    Returns:
        The same `model`, trained.
    """
    keras.utils.set_random_seed(seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if recipe.pretrain_epochs:
        _pretrain_autoencoder(model, x, recipe, progress)
    encoder = model.get_layer("hidden_1") if recipe.pretrain_epochs else None
    if encoder is not None:
        encoder.trainable = recipe.train_pretrained
    _fit(
        model,
        x,
        y,
        recipe,
        recipe.epochs,
        recipe.learning_rate,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        f"training {model.name}",
        progress,
        callbacks=[_TestErrorHistory(history, x_test, y_test)] if history is not None and x_test is not None else (),
    )
    if encoder is not None:
        encoder.trainable = True
    return model
