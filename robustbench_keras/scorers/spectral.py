"""Table 5: an upper Lipschitz bound per layer of a Keras model, and their product.

Szegedy et al. 2014 (arXiv 1312.6199), Section 4.3. For a chain of layers, `||phi(x) - phi(x + r)||`
is at most the product of the layers' Lipschitz constants times `||r||`. Bounds per layer kind:

- Dense: its kernel's largest singular value (exact);
- Conv2D: the certified frequency supremum of `conv_bounds.conv_bound` (any stride, dilation and group
  count; 'valid' and 'same' padding both restrict the circular convolution it bounds);
- MaxPooling2D: `sqrt(ceil(ph / sh) * ceil(pw / sw))`, i.e. 1 for non-overlapping pools. The paper calls
  max-pooling contractive, but an input shared by `m` overlapping pools moves all `m` outputs (AlexNet's
  3 x 3 pools at stride 2 reach 2);
- activations, as layers or as a Dense/Conv2D `activation` (a row of their own, `<layer>/activation`):
  ReLU 1, sigmoid 1/4, tanh 1, linear 1, softmax 1 (LeakyReLU/ReLU layers: the larger slope);
- `zoo.alexnet.ContrastNormalization`, `x / (epsilon + alpha ||x||^2)^gamma`: `epsilon^-gamma`;
- BatchNormalization (inference): `max |gamma| / sqrt(moving_variance + epsilon)`;
- InputLayer, Flatten, Reshape, Dropout: 1.
A nested Keras model contributes its own layers. Anything else raises `UnsupportedLayerError`.
"""

import dataclasses
import math
import time

import keras
import numpy as np
import scipy.sparse.linalg

from robustbench_keras.errors import ModelError, SuiteError
from robustbench_keras.executors import resolve_model
from robustbench_keras.scorers.conv_bounds import conv_bound
from robustbench_keras.scorers.spectral_tables import entry_table, table5_table
from robustbench_keras.zoo.alexnet import ContrastNormalization

NAME = "spectral"
ALEXNET = "alexnet"  # the unit of Table 5's AlexNet
# Matrices whose smaller side is at most this get an exact dense eigensolver; larger ones Lanczos.
DENSE_EIGENSOLVER_MAX_SIDE = 2048

_ACTIVATION_SLOPES = {"relu": 1.0, "sigmoid": 0.25, "tanh": 1.0, "linear": 1.0, "softmax": 1.0}
_IDENTITY_LAYERS = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The suite section `spectral:` (Table 5).

    Attributes:
        models: zoo model ids whose layers are bounded; empty: every model of the suite.
        alexnet: also bound the AlexNet of Table 5 (`zoo.alexnet.build_alexnet`).
        alexnet_weights: a Keras weights file (`.weights.h5`) for that AlexNet; None bounds its seeded
            initialisation, which the entry records (the paper's Table 5 used trained weights).
        alexnet_seed: seed of that initialisation.
        tolerance: a convolution's bound is refined until it is within this fraction above the largest
            norm found at an evaluated frequency (it is a true upper bound at every tolerance).
        initial_grid: least number of frequency cells per axis before refinement.
    """

    models: tuple[str, ...] = ()
    alexnet: bool = True
    alexnet_weights: str | None = None
    alexnet_seed: int = 0
    tolerance: float = 1e-2
    initial_grid: int = 16

    def __post_init__(self):
        if not 0 < self.tolerance < 1:
            raise SuiteError(f"spectral.tolerance: expected a number in (0, 1), got {self.tolerance!r}")
        if self.initial_grid < 1:
            raise SuiteError(f"spectral.initial_grid: expected a positive integer, got {self.initial_grid!r}")


class UnsupportedLayerError(ModelError):
    """A layer has no Lipschitz bound here; `layer_name` names it for the entry's `unsupported_layer`."""

    def __init__(self, layer, reason):
        self.layer_name = layer.name
        super().__init__(f"spectral: layer '{layer.name}' ({type(layer).__name__}) {reason}")


def run(settings, context):
    """Layer bounds of each scored model (`sections["spectral"]`), and Table 5's AlexNet in a full run: one
    stage, one unit per model and one for the AlexNet (the costliest, given weight to start early)."""
    selected = [model_id for model_id in context.scored if not settings.models or model_id in settings.models]
    with_table5 = context.full_run and settings.alexnet
    units = [(context.executor.share_model(context.models[model_id]), settings) for model_id in selected]
    labels, weights = list(selected), [1.0] * len(selected)
    if with_table5:
        units, labels, weights = units + [(ALEXNET, settings)], labels + [ALEXNET], weights + [len(selected) + 1.0]
    bounds = context.executor.map("spectral bounds", score_unit, units, labels=labels, weights=weights)
    for model_id, section in zip(selected, bounds):
        context.entries[model_id].sections[NAME] = section
    if with_table5:
        context.document_sections["table5"] = bounds[-1]


def score_unit(unit):
    """One unit of work: `score` of one shared model, or `alexnet_table`; `unit` is (model handle or
    `ALEXNET`, settings)."""
    handle, settings = unit
    if isinstance(handle, str):  # ALEXNET
        return alexnet_table(settings)
    return score(resolve_model(handle), settings)


def score(model, settings=Settings(), input_shape=None):
    """Table 5 for one model: its layer bounds, or the first layer that has none.

    Args:
        model: a keras.Model built from supported layers, in a chain.
        settings: the `spectral:` section.
        input_shape: the input shape without batch axis, used only if `model` is not built yet.

    Returns:
        `layer_bounds(...)`'s dict, or `{"unsupported_layer": name}`.
    """
    try:
        return layer_bounds(model, input_shape, settings=settings)
    except UnsupportedLayerError as error:
        return {"unsupported_layer": error.layer_name, "message": str(error)}


def alexnet_table(settings=Settings()):
    """Table 5: the bounds of the paper's AlexNet, with the weights used and the time taken.

    No pretrained weights can be downloaded: without `settings.alexnet_weights` the bounds are those
    of the seeded initialisation, and the result says so.
    """
    from robustbench_keras.zoo.alexnet import build_alexnet

    start = time.perf_counter()
    model = build_alexnet(weights_path=settings.alexnet_weights, seed=settings.alexnet_seed)
    result = layer_bounds(model, settings=settings)
    weights = settings.alexnet_weights or f"seeded initialisation (seed {settings.alexnet_seed}), not trained weights"
    return {"model": "alexnet", "weights": weights, **result, "time_s": time.perf_counter() - start}


def layer_bounds(model, input_shape=None, settings=Settings()):
    """Upper Lipschitz bound (L2 to L2) of every layer of a chain model, and their product.

    Args:
        model: a keras.Model (Sequential, or functional where each layer takes the previous one's output).
        input_shape: the input shape without batch axis, used only if `model` is not built yet.
        settings: tolerance and initial grid of the convolution bounds.

    Returns:
        JSON-able dict: `{"layers": [{"name", "kind", "shape", "stride", "bound"}], "product"}`. `shape` is
        the weight shape in the paper's order (Conv2D `[C, kh, kw, D]`, Dense `[inputs, outputs]`) or None;
        `stride` the Conv2D or pooling stride (an int if equal along both axes) or None.

    Raises:
        ModelError: `model` is not built and no `input_shape` was given.
        UnsupportedLayerError: a layer has no bound here, or the model is not a chain.
    """
    if not model.built:
        if input_shape is None:
            raise ModelError(f"spectral: model '{model.name}' is not built; pass input_shape (e.g. (28, 28))")
        model.build((None, *input_shape))
    rows = []
    for layer in _chain(model):
        rows.extend(_layer_rows(layer, settings))
    return {"layers": rows, "product": math.prod(row["bound"] for row in rows)}


def spectral_norm(matrix):
    """Largest singular value of a 2-D matrix: a dense eigensolver on the smaller Gram matrix, else Lanczos.

    Lanczos (ARPACK, converged to machine precision) is used only when the smaller side exceeds
    `DENSE_EIGENSOLVER_MAX_SIDE`, e.g. AlexNet's 9216 x 4096 FC1.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape[0] < matrix.shape[1]:
        matrix = matrix.T
    side = matrix.shape[1]
    if side <= DENSE_EIGENSOLVER_MAX_SIDE:
        return float(np.sqrt(max(np.linalg.eigvalsh(matrix.T @ matrix)[-1], 0.0)))
    gram = scipy.sparse.linalg.LinearOperator((side, side), matvec=lambda v: matrix.T @ (matrix @ v), dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(side)
    largest = scipy.sparse.linalg.eigsh(gram, k=1, which="LA", tol=0, v0=start, return_eigenvectors=False)[0]
    return float(np.sqrt(max(largest, 0.0)))


def _chain(model):
    """The model's layers in order, nested models flattened; refuses branching graphs."""
    layers = list(model.layers)
    if not isinstance(model, keras.Sequential):
        previous_output = model.inputs[0] if len(model.inputs) == 1 else None
        for layer in layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if previous_output is None or layer.input is not previous_output:
                raise UnsupportedLayerError(layer, "does not take the previous layer's output alone (not a chain)")
            previous_output = layer.output
    for layer in layers:
        if isinstance(layer, keras.Model):
            yield from _chain(layer)
        else:
            yield layer


def _layer_rows(layer, settings):
    """One row per layer, plus one for a fused activation."""
    if isinstance(layer, keras.layers.Dense):
        kernel = layer.kernel.numpy()
        row = _row(layer, "dense", list(kernel.shape), None, spectral_norm(kernel))
        return [row, _activation_row(layer, f"{layer.name}/activation", layer.activation)]
    if isinstance(layer, keras.layers.Conv2D):
        bound, kernel_shape = _conv2d_bound(layer, settings)
        row = _row(layer, "conv2d", kernel_shape, _stride(layer.strides), bound)
        return [row, _activation_row(layer, f"{layer.name}/activation", layer.activation)]
    if isinstance(layer, keras.layers.MaxPooling2D):
        overlap = math.prod(math.ceil(p / s) for p, s in zip(layer.pool_size, layer.strides))
        return [_row(layer, "max_pooling", None, _stride(layer.strides), math.sqrt(overlap))]
    if isinstance(layer, keras.layers.Activation):
        return [_activation_row(layer, layer.name, layer.activation)]
    if isinstance(layer, (keras.layers.ReLU, keras.layers.LeakyReLU)):
        return [_row(layer, "activation", None, None, max(1.0, abs(float(layer.negative_slope))))]
    if isinstance(layer, keras.layers.Softmax):
        return [_row(layer, "activation", None, None, 1.0)]
    if isinstance(layer, ContrastNormalization):
        return [_row(layer, "contrast_normalization", None, None, float(layer.epsilon) ** -float(layer.gamma))]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [_row(layer, "batch_normalization", None, None, _batch_normalization_bound(layer))]
    if isinstance(layer, _IDENTITY_LAYERS):
        return [_row(layer, "identity", None, None, 1.0)]
    raise UnsupportedLayerError(layer, "has no Lipschitz bound in robustbench_keras.scorers.spectral")


def _conv2d_bound(layer, settings):
    """Bound of a Conv2D's linear part and its kernel shape `[C, kh, kw, D]` (before dilation)."""
    kernel = layer.kernel.numpy().astype(np.float64)
    kh, kw, group_channels, d = kernel.shape
    dilation_h, dilation_w = layer.dilation_rate
    if (dilation_h, dilation_w) != (1, 1):
        dilated = np.zeros(((kh - 1) * dilation_h + 1, (kw - 1) * dilation_w + 1, group_channels, d))
        dilated[::dilation_h, ::dilation_w] = kernel
        kernel = dilated
    # Groups act on disjoint channels: the layer is block diagonal and its norm the largest block's.
    per_group = d // layer.groups
    blocks = (kernel[..., g * per_group : (g + 1) * per_group] for g in range(layer.groups))
    bound = max(conv_bound(block, layer.strides, settings.tolerance, settings.initial_grid).upper for block in blocks)
    return bound, [group_channels * layer.groups, kh, kw, d]


def _batch_normalization_bound(layer):
    scale = np.ones(layer.moving_variance.shape) if layer.gamma is None else layer.gamma.numpy()
    return float(np.max(np.abs(scale) / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)))


def _activation_row(layer, name, activation):
    identifier = keras.activations.serialize(activation)
    if identifier not in _ACTIVATION_SLOPES:
        raise UnsupportedLayerError(layer, f"uses activation {identifier!r}; supported: {sorted(_ACTIVATION_SLOPES)}")
    return {"name": name, "kind": "activation", "shape": None, "stride": None, "bound": _ACTIVATION_SLOPES[identifier]}


def _row(layer, kind, shape, stride, bound):
    return {"name": layer.name, "kind": kind, "shape": shape, "stride": stride, "bound": float(bound)}


def _stride(strides):
    first, second = (int(s) for s in strides)
    return first if first == second else [first, second]


def tables(document, baselines, settings):
    """Table 5 (AlexNet, paper beside ours) and, when any entry has them, the models' own bounds."""
    entries = entry_table(document, baselines)
    table5 = [table5_table(document, baselines)] if document.get("table5") or baselines else []
    return table5 + ([entries] if entries.rows else [])
