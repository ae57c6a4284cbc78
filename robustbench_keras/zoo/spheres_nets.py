"""Gilmer et al.'s sphere classifiers as Keras models with two logits (inner = 0, outer = 1), and their
training on freshly sampled points (Adam, mini-batch 50, as the paper; far fewer steps, see `train`).

- quadratic: h = (W x)^2 (hidden units, no bias), class-1 logit sum(h) - b with the readout weights
  fixed to 1 and the bias b learned (the paper's "quadratic network"); the class-0 logit is 0. Its
  decision function is x^T M x - b, M = W^T W, so `quadratic_form` hands the exact oracle (M, b).
- relu: Dense(1000)-BN-ReLU twice, Dense(2) (the paper's ReLU network).
"""

import numpy as np

from robustbench_keras.data.spheres import TRAIN_STREAM
from robustbench_keras.progress import Progress
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)

ARCHITECTURES = ("quadratic", "relu")


@keras.saving.register_keras_serializable(package="robustbench_keras")
class QuadraticReadout(tf.keras.layers.Layer):
    """Logits (0, sum_j (w_j . x)^2 - b): fixed readout weights 1, a learned bias b."""

    def __init__(self, hidden, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden

    def build(self, input_shape):
        scale = 1.0 / np.sqrt(float(input_shape[-1]) * self.hidden)
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.hidden),
                                      initializer=tf.keras.initializers.RandomNormal(stddev=scale))
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, x):
        score = tf.reduce_sum(tf.square(tf.matmul(x, self.kernel)), axis=-1) - self.bias
        return tf.stack([tf.zeros_like(score), score], axis=-1)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def build(architecture, dimension, hidden=1000, seed=0):
    """An untrained model (float32 (n, d) -> two logits) of one of `ARCHITECTURES`."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((dimension,))
    if architecture == "quadratic":
        outputs = QuadraticReadout(hidden)(inputs)
    else:
        h = inputs
        for _ in range(2):
            h = tf.keras.layers.Dense(hidden)(h)
            h = tf.keras.layers.BatchNormalization()(h)
            h = tf.keras.layers.ReLU()(h)
        outputs = tf.keras.layers.Dense(2)(h)
    return tf.keras.Model(inputs, outputs, name=f"spheres_{architecture}_d{dimension}")


def train(model, spec, steps, batch_size=50, learning_rate=1e-3, schedule="constant", stream=TRAIN_STREAM,
          show_progress=True):
    """Adam on fresh points: each step draws a new batch of the spec's stream `stream` (seeded); the learning
    rate is constant, or decays to 0 over the steps ("cosine")."""
    if schedule == "cosine":
        learning_rate = tf.keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables),
                                      model.trainable_variables))
        return value

    chunk = 1000  # steps drawn at once
    with Progress(f"training {model.name}", steps, enabled=show_progress) as progress:
        for start in range(0, steps, chunk):
            count = min(chunk, steps - start)
            x, y = spec.sample(count * batch_size, stream=stream * 10**9 + start)
            for k in range(count):
                step(x[k * batch_size:(k + 1) * batch_size], y[k * batch_size:(k + 1) * batch_size])
            progress.update(count)
    return model


def quadratic_form(model):
    """(M, b) of a quadratic model: its class-1 logit is x^T M x - b, float64; None for another model."""
    layer = next((layer for layer in model.layers if isinstance(layer, QuadraticReadout)), None)
    if layer is None:
        return None
    w = layer.kernel.numpy().astype(np.float64)
    return w @ w.T, float(layer.bias.numpy())
