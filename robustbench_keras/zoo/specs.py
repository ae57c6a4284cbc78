"""The zoo's model specs as data, without Keras: ids, paper names, architectures, splits, recipes.

The MNIST networks of Szegedy et al. 2014 (arXiv 1312.6199, Tables 1 and 3) and a conv net. The paper's
error rates are read from the paper's baselines (`leaderboard/szegedy2014.json`), their only copy.
Listing the zoo (`python -m robustbench_keras models`) needs only this module, so it never loads TensorFlow.
"""

import dataclasses
import functools

from robustbench_keras.errors import ModelError
from robustbench_keras.paper import load_baselines
from robustbench_keras.zoo.recipes import RECIPES, Recipe

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
CONV_KERNEL_SIZE = 5  # the conv net's square kernels, "valid" padding, each conv followed by a 2x2 max-pool


@dataclasses.dataclass(frozen=True)
class ZooSpec:
    """One zoo model.

    Attributes:
        id: stable, file-name safe id, e.g. "fc100_100_10_p2".
        paper_name: the paper's name, e.g. "FC100-100-10'".
        architecture: short description of the layers.
        train_split: the dataset split it is trained on: "train" (Table 1), "p1" or "p2" (Table 3).
        recipe: its training `Recipe`.
        hidden_units: units per dense hidden layer, input side first (conv net: its dense layer).
        kind: "dense" (sigmoid), "autoencoder" (dense with a pretrained first layer), "conv", or for Xiao
            et al. 2019 "strided_conv" (no pooling) and "relu_dense" (ReLU hidden layers).
        conv_filters: channels of each conv layer (conv net only).
        mask_ratio: share of conv_1's feature-map units zeroed by a fixed random mask (Luo et al. 2019,
            arXiv 1902.07384; layer "mask_1"); 0 for none (conv net only).
        mask_seed: seeds the choice of the masked units, fixed per model, whatever the training seed.
        seed_offset: added to the suite's seed for initialisation and training, so a retrained copy of
            an architecture gets other weights.
        dimension: input dimension d of a spheres model (kinds "spheres_quadratic", "spheres_relu": flat
            inputs (batch, d), two logits); 0 for the image models.
    """

    id: str
    paper_name: str
    architecture: str
    train_split: str
    recipe: Recipe
    hidden_units: tuple
    kind: str = "dense"
    conv_filters: tuple = ()
    mask_ratio: float = 0.0
    mask_seed: int = 0
    seed_offset: int = 0
    dimension: int = 0

    @property
    def paper_train_error(self):
        """The paper's error on `train_split` (a fraction), None if the paper gives none."""
        key = "train_error" if self.train_split == "train" else f"{self.train_split}_error"
        return _paper_rows().get(self.id, {}).get(key)

    @property
    def paper_test_error(self):
        """The paper's test error (a fraction), None if the paper gives none."""
        return _paper_rows().get(self.id, {}).get("test_error")


@functools.cache
def _paper_rows():
    baselines = load_baselines()
    return {row["model"]: row for table in ("table1", "table3") for row in baselines[table]["rows"]}


def _fc(model_id, paper_name, hidden_units, split="train"):
    layers = "-".join(str(u) for u in hidden_units + (NUM_CLASSES,))
    architecture = f"fully connected {layers}, sigmoid hidden units" if hidden_units else "softmax regression 784-10"
    return ZooSpec(model_id, paper_name, architecture, split, RECIPES[model_id], hidden_units)


_SPECS = (
    _fc("fc10_wd1e-4", "FC10(1e-4)", ()),
    _fc("fc10_wd1e-2", "FC10(1e-2)", ()),
    _fc("fc10_wd1", "FC10(1)", ()),
    _fc("fc100_100_10", "FC100-100-10", (100, 100)),
    _fc("fc200_200_10", "FC200-200-10", (200, 200)),
    ZooSpec(
        "ae400_10", "AE400-10", "400-unit sigmoid autoencoder (trained unsupervised) with a softmax on top",
        "train", RECIPES["ae400_10"], (400,), kind="autoencoder",
    ),
    _fc("fc100_100_10_p1", "FC100-100-10", (100, 100), "p1"),
    _fc("fc123_456_10_p1", "FC123-456-10", (123, 456), "p1"),
    _fc("fc100_100_10_p2", "FC100-100-10'", (100, 100), "p2"),
    ZooSpec(
        "mnist_convnet", "MNIST conv net",
        "conv 5x5x16, ReLU, max-pool 2; conv 5x5x32, ReLU, max-pool 2; dense 100 ReLU; 10 logits",
        "train", RECIPES["mnist_convnet"], (100,), kind="conv", conv_filters=(16, 32),
    ),
    # Section 4.2: the same FC100-100-10 with dropout, and with adversarial training (input, per layer).
    _fc("fc100_100_10_dropout", "FC100-100-10 (dropout)", (100, 100)),
    _fc("fc100_100_10_adv_input", "FC100-100-10 (adversarial inputs)", (100, 100)),
    _fc("fc100_100_10_adv_layer", "FC100-100-10 (adversarial per layer)", (100, 100)),
)


def _masked_convnet(model_id, paper_name, mask_ratio, seed_offset):
    """The conv net retrained with `seed_offset`, with a random mask of `mask_ratio` after conv_1 (0: none)."""
    plain = next(spec for spec in _SPECS if spec.id == "mnist_convnet")
    mask = (f"; fixed random mask zeroing {mask_ratio:.0%} of conv_1's units (seed {seed_offset})" if mask_ratio
            else "; retrained with another seed")
    return dataclasses.replace(plain, id=model_id, paper_name=paper_name, architecture=plain.architecture + mask,
                               recipe=RECIPES[model_id], mask_ratio=mask_ratio, mask_seed=seed_offset,
                               seed_offset=seed_offset)


# Random Mask (Luo et al. 2019) and its control: the conv net retrained unmasked with another seed.
_SPECS += (
    _masked_convnet("mnist_convnet_seed1", "MNIST conv net (seed + 1)", 0.0, 1),
    _masked_convnet("mnist_convnet_mask50", "MNIST conv net, random mask 50%", 0.5, 2),
    _masked_convnet("mnist_convnet_mask80", "MNIST conv net, random mask 80%", 0.8, 3),
)


def _spheres(architecture, dimension, hidden_units):
    """A model of Gilmer et al.'s concentric spheres (arXiv 1801.02774), `zoo/spheres_nets.py`."""
    described = {"quadratic": ("Quadratic net", f"{hidden_units[0]} units with activation x^2, readout weights 1 "
                                                "and a learned bias; 2 logits"),
                 "relu": ("ReLU net", f"dense {hidden_units[0]}-BN-ReLU x {len(hidden_units)}, dense 2")}
    name, architecture_text = described[architecture]
    model_id = f"spheres_{architecture}_d{dimension}"
    return ZooSpec(model_id, f"{name} (d={dimension})", f"{architecture_text}; inputs R^{dimension}", "train",
                   RECIPES[model_id], hidden_units, kind=f"spheres_{architecture}", dimension=dimension)


# Adversarial spheres (Gilmer et al. 2018): the paper's two networks at d = 500, and at d = 20 for tests.
_SPECS += (
    _spheres("quadratic", 500, (1000,)),
    _spheres("relu", 500, (1000, 1000)),
    _spheres("quadratic", 20, (40,)),
    _spheres("relu", 20, (100, 100)),  # narrower: cheap in tests
)
# Xiao et al. 2019 (arXiv 1809.03008): PGD adversarial training at ε = 0.1, without and with L1 + ReLU stability.
_XIAO_CONV = "conv 5x5x16 stride 2, ReLU; conv 5x5x32 stride 2, ReLU ('same' padding); dense 100 ReLU; 10 logits"
_XIAO_MLP = "fully connected 50-50-10, ReLU hidden units"
_SPECS += (
    ZooSpec("xiao_conv_pgd", "Xiao et al. conv net, PGD", _XIAO_CONV + "; PGD training", "train",
            RECIPES["xiao_conv_pgd"], (100,), kind="strided_conv", conv_filters=(16, 32)),
    ZooSpec("xiao_conv_pgd_rs", "Xiao et al. conv net, PGD + L1 + RS", _XIAO_CONV + "; PGD + L1 + RS training",
            "train", RECIPES["xiao_conv_pgd_rs"], (100,), kind="strided_conv", conv_filters=(16, 32)),
    ZooSpec("xiao_mlp_pgd", "MLP 50-50, PGD", _XIAO_MLP + "; PGD training", "train", RECIPES["xiao_mlp_pgd"],
            (50, 50), kind="relu_dense"),
    ZooSpec("xiao_mlp_pgd_rs", "MLP 50-50, PGD + L1 + RS", _XIAO_MLP + "; PGD + L1 + RS training", "train",
            RECIPES["xiao_mlp_pgd_rs"], (50, 50), kind="relu_dense"),
)
_REGISTRY = {spec.id: spec for spec in _SPECS}


def names():
    """The zoo's model ids, in the paper's order (Table 1, Table 3, the conv nets, then Xiao et al.'s)."""
    return [spec.id for spec in _SPECS]


def get(model_id):
    """The `ZooSpec` of `model_id`.

    Raises:
        ModelError: unknown id; the message lists the known ones.
    """
    if model_id not in _REGISTRY:
        raise ModelError(f"zoo: unknown model {model_id!r}; expected one of: {', '.join(names())}")
    return _REGISTRY[model_id]
