"""Which layer a scorer studies: the last hidden layer (the input of the final Dense logits layer), or a named one."""

import keras
import numpy as np

from robustbench_keras.errors import ModelError

BATCH_SIZE = 1000


def find_layer(model, name=None):
    """Name of the studied layer: `name` if the model has it, else the last hidden layer.

    The last hidden layer is the one feeding the final Dense logits layer (weightless layers after
    that Dense, such as a linear Activation, are stepped over).

    Raises:
        ModelError: `name` is not a layer of the model, or there is no final Dense layer.
    """
    available = [layer.name for layer in model.layers]
    if name is not None:
        if name not in available:
            raise ModelError(
                f"unit_semantics.layer: expected a layer of model '{model.name}', got '{name}'; "
                f"available layers: {', '.join(available)}"
            )
        return name
    operation = model.outputs[0]._keras_history.operation
    while operation.__class__.__name__ != "Dense":
        inputs = operation.input
        if operation.weights or isinstance(inputs, list) or not hasattr(inputs, "_keras_history"):
            raise ModelError(
                f"unit_semantics.layer: model '{model.name}' does not end in a Dense logits layer; "
                f"name the layer to study (available layers: {', '.join(available)})"
            )
        operation = inputs._keras_history.operation
    return operation.input._keras_history.operation.name


def activations(model, x, name=None):
    """Activations of a layer (default: the last hidden layer) flattened per example.

    Args:
        model: keras.Model.
        x: float32 (num_examples, 28, 28) in [0, 1].
        name: layer name, or None for `find_layer(model)`.

    Returns:
        float32 (num_examples, num_units).
    """
    layer = model.get_layer(find_layer(model, name))
    outputs = keras.Model(model.inputs, layer.output).predict(x, batch_size=BATCH_SIZE, verbose=0)
    return np.asarray(outputs, dtype=np.float32).reshape(len(x), -1)


def has_hidden_layer(model):
    """Whether anything but reshaping stands between the input and the final Dense layer (FC10 has nothing)."""
    layer = model.get_layer(find_layer(model))
    return bool(layer.weights) or not isinstance(layer, (keras.layers.Flatten, keras.layers.Reshape, keras.layers.InputLayer))
