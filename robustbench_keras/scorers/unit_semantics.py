"""Property 1 (Section 3): are single units more coherent than random directions?

Szegedy et al. 2014, *Intriguing properties of neural networks* (arXiv 1312.6199), Section 3 and
Figures 1-2: the held-out images that maximise a unit's activation <phi(x), e_i> look no more
semantically coherent than those maximising a random direction <phi(x), v>. The paper showed
pictures; this scorer measures it. For N units and N Gaussian unit-length directions of a layer's
activation space, it takes the top-k held-out images of each direction and measures their coherence
without humans:

- `purity`: share of the majority label among the k images;
- `pixel_similarity`: mean pairwise cosine of the images (centred pixels);
- `reference_similarity`: mean pairwise cosine in the last hidden layer of a different model.

Each measure is summarised per kind of direction (mean, bootstrap 95% interval) and the two kinds are
compared by a two-sided Mann-Whitney U test (`coherence.compare`); the verdict is Bonferroni-corrected
over the measures. Random k-subsets of the held-out set give each measure's level by chance.
"""

import dataclasses
import functools

import numpy as np

from robustbench_keras.errors import ModelError, SuiteError
from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.cells import baselines_for, display_names
from robustbench_keras.executors import resolve_model
from robustbench_keras.scorers import coherence
from robustbench_keras.scorers.layers import activations, find_layer, has_hidden_layer
from robustbench_keras.scorers.unit_semantics_tables import property1_table
from robustbench_keras.statistics import bootstrap_ci

NAME = "unit_semantics"
MEASURES = ("purity", "pixel_similarity", "reference_similarity")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The suite section `unit_semantics:`.

    Attributes:
        num_directions: N, the number of units and the number of random directions per layer.
        top_k: k, the number of held-out images kept per direction (at least 2, for pairs).
        layer: name of the layer whose activations phi(x) are studied; None means the last hidden
            layer, the input of the final Dense logits layer.
        reference_model: zoo id of the model whose last hidden layer gives the independent
            representation for `reference_similarity`; None leaves that measure out.
        num_examples: how many held-out images (the first ones of the MNIST test set, as in the
            paper) are ranked.
        seed: seed of the unit choice, the random directions, the chance sets and the bootstrap.
        num_resamples: bootstrap resamples per confidence interval (and random sets per chance level).
        alpha: significance level of the verdict, before the Bonferroni correction over measures.
    """

    num_directions: int = 20
    top_k: int = 10
    layer: str | None = None
    reference_model: str | None = "fc100_100_10_p2"
    num_examples: int = 10000
    seed: int = 0
    num_resamples: int = 1000
    alpha: float = 0.05

    def __post_init__(self):
        for name, low in (("num_directions", 2), ("top_k", 2), ("num_examples", 2), ("num_resamples", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SuiteError(f"unit_semantics.{name}: expected an integer >= {low}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SuiteError(f"unit_semantics.seed: expected a non-negative integer, got {self.seed!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise SuiteError(f"unit_semantics.alpha: expected a number in (0, 1), got {self.alpha!r}")
        if self.top_k > self.num_examples:
            raise SuiteError(
                f"unit_semantics.top_k: expected at most num_examples ({self.num_examples}), got {self.top_k}"
            )


def run(settings, context):
    """Property 1 for each scored model with a hidden layer (`sections["unit_semantics"]`)."""
    x_test, y_test = context.dataset.split("test")
    reference_id = settings.reference_model
    reference = None
    if reference_id is not None:
        reference = context.models.get(reference_id) or context.suite.load_model(
            reference_id, context.dataset, progress=context.progress)
    executor = context.executor
    shared_reference = None if reference is None else executor.share_model(reference)
    # The held-out images a unit needs (one more than num_examples, so that too few images is still refused).
    x_held, y_held = x_test[: settings.num_examples + 1], y_test[: settings.num_examples + 1]
    ids = list(context.scored_models())
    units = [(executor.share_model(context.models[model_id]), None if model_id == reference_id else shared_reference,
              x_held, y_held, settings) for model_id in ids]
    sections = executor.map("unit vs random directions", score_unit, units, labels=ids)
    for model_id, section in zip(ids, sections):
        if section is not None:
            context.entries[model_id].sections[NAME] = section
    context.held_out_images = x_test[: settings.num_examples]


def score_unit(unit):
    """One unit of work: Property 1 of one model; `unit` is (model handle, reference handle or None,
    held-out images, their labels, settings). None for a model without a hidden layer; a model whose layer
    cannot be found scores an error."""
    handle, reference, x, y, settings = unit
    model = resolve_model(handle)
    reference_model = None if reference is None else resolve_model(reference)
    try:
        if not has_hidden_layer(model):
            return None
        return score(model, x, y, settings, reference_model=reference_model)
    except ModelError as error:  # e.g. a submitted model whose last hidden layer cannot be found
        return {"error": str(error)}


def score(model, x, y, settings, reference_model=None, layer=None):
    """Scores Property 1 for one model on a held-out set.

    Args:
        model: keras.Model taking float32 (N, 28, 28) in [0, 1] and returning logits.
        x: float32 (num_held_out, 28, 28) in [0, 1], the held-out images (the MNIST test set).
        y: int (num_held_out,) labels of `x`.
        settings: `Settings`; its first `num_examples` images of `x` are used.
        reference_model: keras.Model for `reference_similarity` (the zoo model named by
            `settings.reference_model`), or None to leave that measure out.
        layer: a layer name or a list of them, overriding `settings.layer`.

    Returns:
        JSON-able dict: `settings`, and `layers` mapping each layer name to the dict of `score_layer`.

    Raises:
        ModelError: a layer does not exist, or no unit of it has a defined top-k set.
        SuiteError: `x` has fewer than `settings.num_examples` images.
    """
    if len(x) < settings.num_examples:
        raise SuiteError(
            f"unit_semantics.num_examples: expected at most the {len(x)} held-out images given, "
            f"got {settings.num_examples}; lower num_examples"
        )
    x = np.asarray(x[: settings.num_examples], dtype=np.float32)
    y = np.asarray(y[: settings.num_examples], dtype=np.int64)
    names = layer if layer is not None else settings.layer
    names = [names] if names is None or isinstance(names, str) else list(names)
    similarity_rows = {"pixel_similarity": coherence.unit_rows(x)}
    if reference_model is not None:
        similarity_rows["reference_similarity"] = coherence.unit_rows(activations(reference_model, x))
    layers = {}
    for name in names:
        found = find_layer(model, name)
        layers[found] = score_layer(activations(model, x, found), y, similarity_rows, settings, found)
    return {"settings": dataclasses.asdict(settings), "layers": layers}


def score_layer(features, y, similarity_rows, settings, layer_name):
    """Compares units with random directions of one layer's activations.

    Args:
        features: float (num_examples, ...) activations phi(x) of the layer.
        y: int (num_examples,) labels.
        similarity_rows: measure name -> `coherence.unit_rows` of the representation it uses.
        settings: `Settings`.
        layer_name: name recorded in the result and the verdict.

    Returns:
        JSON-able dict: layer, num_units, num_eligible_units, "unit" and "random" (directions,
        top_k_indices, majority_labels, and per measure mean, ci95 and per-direction values), chance
        (each measure for random k-subsets), alpha_per_measure (alpha / number of measures),
        tests (per measure), distinguishable (any test below alpha_per_measure), verdict.
    """
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    rng = np.random.default_rng(settings.seed)
    eligible = eligible_units(features, settings.top_k)
    if eligible.size == 0:
        raise ModelError(
            f"unit_semantics: every unit of layer '{layer_name}' is constant over its top "
            f"{settings.top_k} images (dead units); study another layer"
        )
    # Units are drawn at random among the eligible ones, as the random directions are drawn.
    units = np.sort(rng.choice(eligible, size=min(settings.num_directions, eligible.size), replace=False))
    directions = random_directions(features.shape[1], settings.num_directions, rng)
    kinds = {
        "unit": top_k_indices(features[:, units], settings.top_k),
        "random": top_k_indices(features @ directions.T, settings.top_k),
    }
    chance_sets = coherence.random_sets(len(y), settings.top_k, settings.num_resamples, settings.seed)
    result = {"layer": layer_name, "num_units": int(features.shape[1]), "num_eligible_units": int(eligible.size)}
    chance = {"purity": float(coherence.purity(y[chance_sets]).mean())}
    for kind, indices in kinds.items():
        result[kind] = {
            "directions": [int(u) for u in units] if kind == "unit" else None,
            "top_k_indices": indices.tolist(),
            "majority_labels": coherence.majority_label(y[indices]),
            "purity": summarize(coherence.purity(y[indices]), settings),
        }
    for measure in MEASURES[1:]:
        rows = similarity_rows.get(measure)
        chance[measure] = None if rows is None else float(coherence.mean_pairwise_cosine(rows, chance_sets).mean())
        for kind, indices in kinds.items():
            result[kind][measure] = None if rows is None else summarize(
                coherence.mean_pairwise_cosine(rows, indices), settings
            )
    result["chance"] = chance
    measured = [m for m in MEASURES if result["unit"][m] is not None]
    level = settings.alpha / len(measured)  # Bonferroni: any one measure may reject
    result["alpha_per_measure"] = level
    result["tests"] = {
        m: coherence.compare(result["unit"][m]["values"], result["random"][m]["values"], level) for m in measured
    }
    result["distinguishable"] = any(test["distinguishable"] for test in result["tests"].values())
    result["verdict"] = verdict(result, settings.alpha)
    return result


def summarize(values, settings):
    """Mean, bootstrap 95% interval and the per-direction values of one measure."""
    values = np.asarray(values, dtype=np.float64)
    low, high = bootstrap_ci(values, num_resamples=settings.num_resamples, seed=settings.seed)
    return {"mean": float(values.mean()), "ci95": [low, high], "values": [float(v) for v in values]}


def verdict(result, alpha):
    """One sentence stating whether random directions are distinguishable from units."""
    tests = result["tests"]
    outcome = "are distinguishable" if result["distinguishable"] else "are not distinguishable"
    details = ", ".join(
        f"{m.replace('_', ' ')} {result['unit'][m]['mean']:.3f} vs {result['random'][m]['mean']:.3f} "
        f"(p={tests[m]['p_value']:.3g})"
        for m in tests
    )
    num_unit, num_random = len(result["unit"]["top_k_indices"]), len(result["random"]["top_k_indices"])
    return (
        f"In layer '{result['layer']}', random directions {outcome} from units at alpha={alpha:g} "
        f"(two-sided Mann-Whitney U, Bonferroni over {len(tests)} measures, {num_unit} units vs "
        f"{num_random} random directions; unit vs random: {details})."
    )


def eligible_units(features, k):
    """Units whose top-k set is defined by the unit, not by tie-breaking.

    A dead ReLU unit is 0 on every image, so "its" top k would be whichever images come first;
    a unit qualifies when its k-th largest activation exceeds its smallest.
    """
    kth_largest = np.partition(features, -k, axis=0)[-k]
    return np.flatnonzero(kth_largest > features.min(axis=0))


def random_directions(dim, num, rng):
    """`num` Gaussian directions of R^dim scaled to unit length, float64 (num, dim)."""
    directions = rng.standard_normal((num, dim))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def top_k_indices(scores, k):
    """Indices of the k largest scores per column, largest first; ties go to the lower index.

    Args:
        scores: float (num_examples, num_directions) projections <phi(x), v>.
        k: set size.

    Returns:
        int64 (num_directions, k).
    """
    return np.argsort(-np.asarray(scores).T, axis=1, kind="stable")[:, :k]


def tables(document, baselines, settings):
    """Property 1: per model and layer, each measure for units against random directions, and the verdict."""
    return [property1_table(document, baselines, NAME, MEASURES)]


def figures(document, context):
    """For each model and layer, the top images of units beside those of random directions (Figs. 1-2)."""
    from robustbench_keras.plots import direction_grids

    if context.held_out_images is None:
        return []
    names = display_names(document, baselines_for(document, load_baselines()))
    drawn = []
    for entry in document["entries"]:
        for layer_name, layer in (entry.get(NAME) or {}).get("layers", {}).items():
            name = names.get(entry["id"], entry["id"])
            drawn.append((f"Property 1, {name} layer {layer_name}: units (left) and random directions (right)",
                          f"directions_{entry['id']}_{layer_name}.png",
                          functools.partial(direction_grids.save_layer_grid, title=f"{name}, layer {layer_name}"),
                          (context.held_out_images, layer)))
    return drawn
