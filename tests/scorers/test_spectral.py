"""Table 5 bounds checked against brute force: dense matrices of small layers and their full SVD."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from robustbench_keras.errors import ModelError, SuiteError
from robustbench_keras.scorers import conv_bounds, spectral
from robustbench_keras.zoo.alexnet import ContrastNormalization, build_alexnet

TOLERANCE = spectral.Settings().tolerance


def circular_matrix(kernel, strides, size):
    """Dense matrix of the circular strided cross-correlation on a size x size torus, built tap by tap."""
    kh, kw, c, d = kernel.shape
    s1, s2 = strides
    matrix = np.zeros((size // s1, size // s2, d, size, size, c))
    for i in range(size // s1):
        for j in range(size // s2):
            for a in range(kh):
                for b in range(kw):
                    matrix[i, j, :, (s1 * i + a) % size, (s2 * j + b) % size, :] += kernel[a, b].T
    return matrix.reshape((size // s1) * (size // s2) * d, size * size * c)


def layer_matrix(layer, input_shape):
    """Dense matrix of a Keras layer's linear part, from unit vectors pushed through it."""
    size = math.prod(input_shape)
    basis = np.eye(size, dtype=np.float32).reshape(size, *input_shape)
    zero = np.zeros((1, *input_shape), np.float32)
    columns = np.asarray(layer(basis)) - np.asarray(layer(zero))
    return columns.reshape(size, -1).T.astype(np.float64)


def fft_grid_norm(kernel, size):
    """Largest ||B(xi)|| at stride 1 over a size x size frequency grid, via np.fft and full SVDs."""
    spectrum = np.fft.fft2(kernel, s=(size, size), axes=(0, 1))  # (size, size, C, D)
    return np.linalg.svd(spectrum.reshape(size * size, *kernel.shape[2:]), compute_uv=False).max()


@pytest.mark.parametrize(
    ("kernel_shape", "strides"),
    [
        ((3, 3, 2, 3), (1, 1)),
        ((5, 4, 2, 3), (2, 2)),
        ((4, 4, 3, 2), (4, 4)),
        ((3, 5, 2, 2), (2, 1)),
        ((1, 1, 3, 4), (1, 1)),
    ],
)
def test_circular_norm_equals_brute_force_svd(kernel_shape, strides):
    kernel = np.random.default_rng(1).standard_normal(kernel_shape)
    brute = np.linalg.norm(circular_matrix(kernel, strides, 8), 2)
    assert conv_bounds.circular_norm(kernel, strides, 8) == pytest.approx(brute, rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    ("kernel_shape", "strides"), [((3, 3, 2, 3), (1, 1)), ((5, 5, 2, 2), (2, 2)), ((11, 11, 1, 2), (4, 4))]
)
def test_conv_bound_is_above_every_circular_norm(seed, kernel_shape, strides):
    kernel = np.random.default_rng(seed).standard_normal(kernel_shape)
    bound = conv_bounds.conv_bound(kernel, strides)
    assert bound.lower <= bound.upper <= bound.lower * (1 + TOLERANCE)
    for size in (8, 16):
        assert np.linalg.norm(circular_matrix(kernel, strides, size), 2) <= bound.upper


def test_conv_bound_is_exact_when_the_supremum_is_on_the_torus_grid():
    # A non-negative kernel at stride 1 peaks at frequency 0, which every torus samples.
    kernel = np.random.default_rng(2).uniform(0, 1, (3, 3, 2, 3))
    brute = np.linalg.norm(circular_matrix(kernel, (1, 1), 8), 2)
    bound = conv_bounds.conv_bound(kernel, (1, 1), tolerance=1e-6)
    assert bound.upper == pytest.approx(brute, rel=1e-5)
    assert bound.upper >= brute


@pytest.mark.parametrize("seed", range(3))
def test_conv_bound_is_within_tolerance_of_the_fft_supremum(seed):
    kernel = np.random.default_rng(seed).standard_normal((3, 3, 3, 4))
    bound = conv_bounds.conv_bound(kernel)
    sampled = fft_grid_norm(kernel, 256)  # a 256 x 256 grid misses the supremum by at most 3e-4
    assert sampled <= bound.upper <= sampled * (1 + TOLERANCE) * (1 + 3e-4)


@pytest.mark.parametrize(("kernel_shape", "strides"), [((3, 5, 2, 3), (2, 1)), ((5, 2, 3, 2), (1, 2))])
def test_rhombic_cells_bound_the_supremum_of_a_fine_grid_for_unequal_axes(kernel_shape, strides):
    # Rhombic cells with different half-diagonals per axis; the dense grid is an independent sample.
    kernel = np.random.default_rng(12).standard_normal(kernel_shape)
    bound = conv_bounds.conv_bound(kernel, strides)
    axes = [np.arange(256) * 2 * np.pi / (256 * s) for s in strides]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    sampled = conv_bounds.frequency_norms(kernel, strides, grid).max()
    # Grid spacing pi / 128 / s: a point is within sigma . r <= 3 * pi / 256 of the grid, a 1e-3 miss at most.
    assert sampled <= bound.upper <= sampled * (1 + TOLERANCE) * (1 + 1e-3)


@pytest.mark.parametrize(("kernel_shape", "strides"), [((3, 3, 4, 3), (1, 1)), ((5, 5, 2, 3), (2, 2))])
def test_cholesky_screen_proves_exactly_the_limits_above_the_svd_norm(kernel_shape, strides):
    kernel = np.random.default_rng(13).standard_normal(kernel_shape)
    frequencies = np.random.default_rng(14).uniform(0, 2 * np.pi, (20, 2))
    lags, coefficients = conv_bounds.gram_coefficients(kernel, strides)
    # Independent reference: the SVD of B(xi), the aliased kernel spectra side by side.
    s1, s2 = strides
    taps = np.stack(np.meshgrid(*(np.arange(k) - (k - 1) / 2 for k in kernel_shape[:2]), indexing="ij"), -1)
    aliases = np.stack(np.meshgrid(*(2 * np.pi * np.arange(s) / s for s in strides), indexing="ij"), -1).reshape(-1, 2)
    exact = []
    for xi in frequencies:
        spectra = [np.einsum("ab,abcd->dc", np.exp(-1j * taps @ (xi + alias)), kernel) for alias in aliases]
        exact.append(np.linalg.norm(np.concatenate(spectra, axis=1), 2) / math.sqrt(s1 * s2))
    exact = np.array(exact)
    assert conv_bounds._norms_at_most(lags, coefficients, frequencies, exact.max() * (1 + 1e-9)).all()
    for xi, norm in zip(frequencies, exact):
        assert conv_bounds._norms_at_most(lags, coefficients, xi[None], norm * (1 + 1e-9))[0]
        assert not conv_bounds._norms_at_most(lags, coefficients, xi[None], norm * (1 - 1e-9))[0]


def test_stride_equal_to_kernel_gives_a_constant_norm_bounded_exactly():
    kernel = np.random.default_rng(3).standard_normal((4, 4, 3, 2))
    bound = conv_bounds.conv_bound(kernel, (4, 4))
    assert bound.upper == pytest.approx(np.linalg.norm(kernel.reshape(-1, 2), 2), rel=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    ("size", "strides", "dilation"), [(3, 1, 1), (5, 2, 1), (4, 4, 1), (3, 1, 2), ((2, 3), (1, 2), 1)]
)
def test_keras_conv2d_bound_is_above_brute_force_norm(padding, size, strides, dilation):
    rng = np.random.default_rng(4)
    for _ in range(2):
        layer = keras.layers.Conv2D(3, size, strides=strides, padding=padding, dilation_rate=dilation, name="conv")
        layer.build((None, 8, 8, 2))
        layer.kernel.assign(rng.standard_normal(layer.kernel.shape))
        layer.bias.assign(rng.standard_normal(3))
        model = keras.Sequential([keras.Input((8, 8, 2)), layer])
        brute = np.linalg.norm(layer_matrix(layer, (8, 8, 2)), 2)
        rows = spectral.layer_bounds(model)["layers"]
        assert rows[0]["kind"] == "conv2d"
        assert rows[0]["bound"] >= brute * (1 - 1e-6)  # float32 layer


def test_grouped_conv2d_bound_is_the_largest_group_bound():
    layer = keras.layers.Conv2D(4, 3, groups=2, use_bias=False)
    model = keras.Sequential([keras.Input((8, 8, 4)), layer])
    rng = np.random.default_rng(5)
    kernel = rng.standard_normal(layer.kernel.shape)
    kernel[..., 2:] *= 3
    layer.kernel.assign(kernel)
    row = spectral.layer_bounds(model)["layers"][0]
    assert row["shape"] == [4, 3, 3, 4]
    assert row["bound"] == pytest.approx(conv_bounds.conv_bound(kernel[..., 2:]).upper)
    assert row["bound"] >= np.linalg.norm(layer_matrix(layer, (8, 8, 4)), 2) * (1 - 1e-6)


@pytest.mark.parametrize("threshold", [spectral.DENSE_EIGENSOLVER_MAX_SIDE, 10])
def test_spectral_norm_equals_numpy_two_norm(monkeypatch, threshold):
    monkeypatch.setattr(spectral, "DENSE_EIGENSOLVER_MAX_SIDE", threshold)
    matrix = np.random.default_rng(6).standard_normal((60, 45))
    assert spectral.spectral_norm(matrix) == pytest.approx(np.linalg.norm(matrix, 2), rel=1e-10)
    assert spectral.spectral_norm(matrix.T) == pytest.approx(np.linalg.norm(matrix, 2), rel=1e-10)


def test_dense_row_is_the_kernel_norm_and_fused_activation_gets_its_slope():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="sigmoid", name="fc")])
    rows = spectral.layer_bounds(model)["layers"]
    kernel = keras.ops.convert_to_numpy(model.layers[0].kernel).astype(np.float64)
    expected_norm = pytest.approx(np.linalg.norm(kernel, 2))
    assert rows[0] == {"name": "fc", "kind": "dense", "shape": [5, 3], "stride": None, "bound": expected_norm}
    assert rows[1] == {"name": "fc/activation", "kind": "activation", "shape": None, "stride": None, "bound": 0.25}


@pytest.mark.parametrize(("pool", "stride", "expected"), [(2, 2, 1.0), (3, 2, 2.0), (3, 3, 1.0), (3, 1, 3.0)])
def test_max_pooling_bound_is_reached_by_a_shared_maximum(pool, stride, expected):
    layer = keras.layers.MaxPooling2D(pool, strides=stride)
    model = keras.Sequential([keras.Input((9, 9, 1)), layer])
    assert spectral.layer_bounds(model)["layers"][0]["bound"] == expected
    # The centre pixel is the maximum of every pool that covers it: raising it moves them all.
    x = np.zeros((1, 9, 9, 1), np.float32)
    bump = x.copy()
    bump[0, 4, 4, 0] = 1.0
    ratio = np.linalg.norm(np.asarray(layer(bump)) - np.asarray(layer(x))) / np.linalg.norm(bump - x)
    assert ratio == pytest.approx(expected)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 20, 9, 9, 1)).astype(np.float32)
    ratios = np.linalg.norm((np.asarray(layer(a)) - np.asarray(layer(b))).reshape(20, -1), axis=1)
    assert np.all(ratios <= expected * np.linalg.norm((a - b).reshape(20, -1), axis=1) * (1 + 1e-6))


def test_contrast_normalization_jacobian_norm_is_at_most_epsilon_to_minus_gamma():
    layer = ContrastNormalization(epsilon=0.5, alpha=2.0, gamma=0.75)
    bound = spectral.layer_bounds(keras.Sequential([keras.Input((4,)), layer]))["layers"][0]["bound"]
    assert bound == pytest.approx(0.5**-0.75)
    rng = np.random.default_rng(8)
    for scale in (0.0, 0.1, 0.5, 2.0):
        x = tf.constant(rng.standard_normal((1, 4)) * scale, tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        jacobian = tape.jacobian(y, x).numpy().reshape(4, 4)
        norm = np.linalg.norm(jacobian, 2)
        assert norm <= bound * (1 + 1e-6)  # the layer computes in float32
        if scale == 0.0:
            assert norm == pytest.approx(bound)


def test_contrast_normalization_refuses_gamma_above_one():
    with pytest.raises(ModelError, match="gamma in \\[0, 1\\]"):
        ContrastNormalization(gamma=1.5)


def test_batch_normalization_bound_equals_brute_force():
    layer = keras.layers.BatchNormalization(name="bn")
    model = keras.Sequential([keras.Input((6,)), layer])
    rng = np.random.default_rng(9)
    layer.gamma.assign(rng.standard_normal(6))
    layer.moving_variance.assign(rng.uniform(0.1, 2, 6))
    brute = np.linalg.norm(layer_matrix(layer, (6,)), 2)
    assert spectral.layer_bounds(model)["layers"][0]["bound"] == pytest.approx(brute, rel=1e-5)


def test_unsupported_layer_error_names_the_layer_and_its_class():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2DTranspose(2, 3, name="upsample")])
    with pytest.raises(spectral.UnsupportedLayerError, match="layer 'upsample' \\(Conv2DTranspose\\)") as caught:
        spectral.layer_bounds(model)
    assert isinstance(caught.value, ModelError)
    result = spectral.score(model)
    assert result["unsupported_layer"] == "upsample"
    assert "Conv2DTranspose" in result["message"]


def test_unsupported_activation_is_refused_with_the_layer_name():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="elu", name="fc_elu")])
    with pytest.raises(spectral.UnsupportedLayerError, match="'fc_elu' \\(Dense\\) uses activation 'elu'"):
        spectral.layer_bounds(model)


def test_branching_model_is_refused():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(4, name="branch")(inputs)
    outputs = keras.layers.Add(name="residual")([inputs, hidden])
    with pytest.raises(spectral.UnsupportedLayerError, match="'residual' \\(Add\\).*not a chain"):
        spectral.layer_bounds(keras.Model(inputs, outputs))


def test_unbuilt_model_needs_an_input_shape():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ModelError, match="pass input_shape"):
        spectral.layer_bounds(model)
    assert spectral.layer_bounds(model, input_shape=(3,))["layers"][0]["shape"] == [3, 2]


def test_settings_reject_bad_tolerance():
    with pytest.raises(SuiteError, match="spectral.tolerance"):
        spectral.Settings(tolerance=0.0)


def small_convnet():
    inputs = keras.Input((12, 12, 2), name="image")
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv")(inputs)
    x = ContrastNormalization(epsilon=1.0, alpha=0.5, gamma=0.5, name="norm")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(5, activation="tanh", name="fc1")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="fc2")(x)
    return keras.Model(inputs, outputs)


def test_keras_model_end_to_end_rows_product_and_lipschitz_ratio():
    keras.utils.set_random_seed(10)
    model = small_convnet()
    result = spectral.layer_bounds(model)
    names = [row["name"] for row in result["layers"]]
    assert names == [
        "image", "conv", "conv/activation", "norm", "pool", "flatten",
        "fc1", "fc1/activation", "dropout", "fc2", "fc2/activation",
    ]
    conv_row = result["layers"][1]
    assert (conv_row["shape"], conv_row["stride"]) == ([2, 3, 3, 4], 2)
    assert result["layers"][4]["bound"] == 2.0
    assert result["product"] == pytest.approx(np.prod([row["bound"] for row in result["layers"]]), rel=1e-12)
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 1, (64, 12, 12, 2)).astype(np.float32)
    r = rng.standard_normal(x.shape).astype(np.float32) * 1e-2
    moved = np.linalg.norm((model(x + r) - model(x)).numpy(), axis=1)
    assert np.all(moved <= result["product"] * np.linalg.norm(r.reshape(64, -1), axis=1))


def test_result_is_json_serialisable():
    import json

    result = spectral.layer_bounds(small_convnet())
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("model_id", ["mnist_convnet", "fc100_100_10"])
def test_mnist_zoo_models_are_bounded(model_id):
    from robustbench_keras import zoo

    result = spectral.layer_bounds(zoo.build(model_id, seed=0))
    assert result["product"] > 0
    assert {row["kind"] for row in result["layers"]} & {"dense", "conv2d"}


def test_alexnet_has_the_layer_sizes_of_table_5(tmp_path):
    model = build_alexnet(seed=0)
    kernels = {
        layer.name: (tuple(layer.kernel.shape), getattr(layer, "strides", None))
        for layer in model.layers
        if hasattr(layer, "kernel")
    }
    assert kernels == {
        "conv1": ((11, 11, 3, 96), (4, 4)), "conv2": ((5, 5, 96, 256), (1, 1)), "conv3": ((3, 3, 256, 384), (1, 1)),
        "conv4": ((3, 3, 384, 384), (1, 1)), "conv5": ((3, 3, 384, 256), (1, 1)),
        "fc1": ((9216, 4096), None), "fc2": ((4096, 4096), None), "fc3": ((4096, 1000), None),
    }
    assert model.output_shape == (None, 1000)
    path = tmp_path / "alexnet.weights.h5"
    model.save_weights(path)
    loaded = build_alexnet(weights_path=path, seed=1)
    for name in ("conv2", "fc3"):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded.get_layer(name).kernel),
            keras.ops.convert_to_numpy(model.get_layer(name).kernel),
        )


def test_alexnet_weights_errors_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        build_alexnet(weights_path=tmp_path / "missing.weights.h5")
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)
    with pytest.raises(ModelError, match="does not fit the AlexNet"):
        build_alexnet(weights_path=path)
