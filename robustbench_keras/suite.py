"""Suite files: load a YAML suite, check every key, type and name once, and hash what it asks for.

A suite declares the dataset, the models, the attack settings, the scorers with their settings, the
seed and the output folder. `load_suite` returns a frozen `Suite`; no later code reads a raw dict.
"""

import dataclasses
import hashlib
import importlib.util
import json
import typing
from pathlib import Path

import yaml

from robustbench_keras.attacks.settings import AttackSettings, check_tfp_only_keys
from robustbench_keras.data.spheres import NAME as SPHERES, SpheresSpec
from robustbench_keras.errors import DataError, SuiteError
from robustbench_keras.executors import EXECUTOR_NAMES, RAY_INSTALL_HINT
from robustbench_keras.scorers import SCORER_NAMES
from robustbench_keras.settings import build_settings, check_type


@dataclasses.dataclass(frozen=True)
class Suite:
    """A validated suite.

    Attributes:
        name: the suite's name, used in reports.
        dataset: "mnist", "fashion_mnist" or "spheres" (generated, Gilmer et al. 2018).
        models: zoo model ids, in the order the tables list them.
        seed: seed of training, sampling, targets and noise.
        output: folder for the leaderboard, tables, figures and per-example records.
        data_dir: local folder with the four IDX files; None downloads through tensorflow-datasets.
        cache_dir: folder of trained `.keras` models; None uses the zoo's default.
        max_epochs: caps every recipe's epochs and pretraining epochs (quick smoke runs); None keeps
            the recipes. The capped recipe is part of the model cache key and recorded in results.
        attack: the `AttackSettings` of every attack the scorers run.
        scorers: scorer name -> that scorer's `Settings`, in run order.
        path: the file the suite was read from.
        executor: where the units of work run: "in_process" (default) or "ray" (the `ray` extra).
            Not part of `hash`: both executors give the same results.
        ray_address: the Ray cluster of `executor: ray` (e.g. "auto" or "ray://head:10001"); None:
            Ray's `RAY_ADDRESS` variable, else a local Ray started for the run.
        spheres: the `SpheresSpec` (section `spheres:`: dimension, radius, seed, num_train, num_test) of
            `dataset: spheres`, else None.
    """

    name: str
    models: tuple
    dataset: str = "mnist"
    seed: int = 0
    output: str = "results"
    data_dir: typing.Optional[str] = None
    cache_dir: typing.Optional[str] = None
    max_epochs: typing.Optional[int] = None
    attack: AttackSettings = AttackSettings()
    scorers: dict = dataclasses.field(default_factory=dict)
    path: str = "<suite>"
    executor: str = "in_process"
    ray_address: typing.Optional[str] = None
    spheres: typing.Optional[SpheresSpec] = None

    def recipe_for(self, model_id):
        """The training recipe of a zoo model in this suite (its own, capped by `max_epochs`)."""
        from robustbench_keras import zoo

        recipe = zoo.get(model_id).recipe
        if self.max_epochs is None:
            return recipe
        return recipe.replace(
            epochs=min(recipe.epochs, self.max_epochs), pretrain_epochs=min(recipe.pretrain_epochs, self.max_epochs)
        )

    def load_model(self, model_id, dataset, progress=True):
        """A zoo model trained by this suite's recipe and seed, from the cache when it is there."""
        from robustbench_keras import zoo

        return zoo.load_or_train(
            model_id, dataset, seed=self.seed, cache_dir=self.cache_dir, progress=progress,
            recipe=self.recipe_for(model_id),
        )

    def checkpoint_path(self, model_id, dataset):
        """Where `load_model` keeps the trained model."""
        from robustbench_keras import zoo

        return zoo.cache_path(model_id, dataset, self.seed, cache_dir=self.cache_dir, recipe=self.recipe_for(model_id))

    def hash(self):
        """sha256 of what determines the results: dataset, models, seed and the effective attack and
        scorer settings (defaults filled in)."""
        content = {
            "dataset": self.dataset,
            "models": list(self.models),
            "seed": self.seed,
            "max_epochs": self.max_epochs,
            "attack": dataclasses.asdict(self.attack),
            "scorers": {name: dataclasses.asdict(s) for name, s in self.scorers.items()},
        }
        if self.spheres is not None:  # only then, so that the other suites' hashes stay as they were
            content["spheres"] = dataclasses.asdict(self.spheres)
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


_TOP_LEVEL_TYPES = {
    "name": str, "dataset": str, "models": list, "seed": int, "output": str, "data_dir": typing.Optional[str],
    "cache_dir": typing.Optional[str], "max_epochs": typing.Optional[int], "attack": dict, "scorers": dict,
    "executor": str, "ray_address": typing.Optional[str], "spheres": dict,
}


def load_suite(path, **overrides):
    """Reads and validates a suite file.

    Args:
        path: the YAML file.
        **overrides: top-level fields that replace the file's (e.g. `output`, `data_dir` from the CLI);
            None values are ignored.

    Returns:
        A frozen `Suite`.

    Raises:
        SuiteError: one line naming the file and the key that is wrong.
    """
    path = Path(path)
    raw = _read_yaml(path)
    where = str(path)
    for key in raw:
        if key not in _TOP_LEVEL_TYPES:
            raise SuiteError(f"{where}: unknown key '{key}' (known: {', '.join(_TOP_LEVEL_TYPES)})")
    for key in ("name", "models"):
        if key not in raw:
            raise SuiteError(f"{where}: missing required key '{key}'")
    for key, value in raw.items():
        check_type(value, _TOP_LEVEL_TYPES[key], f"{where}: {key}")
    raw.update({key: value for key, value in overrides.items() if value is not None})

    models = tuple(_check_models(raw["models"], where))
    dataset = _check_dataset(raw.get("dataset", "mnist"), where)
    attack = _check_attack(raw.get("attack") or {}, f"{where}: attack")
    scorers = _check_scorers(raw.get("scorers") or {}, where)
    for scorer, field in _MODEL_FIELDS:  # settings that name models: each must be one of the suite's
        named = getattr(scorers.get(scorer), field, None) or ()
        for model_id in (named,) if isinstance(named, str) else named:
            if model_id not in models:
                raise SuiteError(f"{where}: scorers.{scorer}.{field}: '{model_id}' is not a model of the suite "
                                 f"(models: {', '.join(models)}); add it to models")
    spheres = _check_spheres(raw, dataset, models, attack, scorers, where)
    if raw.get("seed", 0) < 0:
        raise SuiteError(f"{where}: seed: expected a non-negative integer, got {raw['seed']}")
    if raw.get("max_epochs") is not None and raw["max_epochs"] < 1:
        raise SuiteError(f"{where}: max_epochs: expected a positive integer or null, got {raw['max_epochs']}")
    executor = raw.get("executor", "in_process")
    if executor not in EXECUTOR_NAMES:
        raise SuiteError(f"{where}: executor: expected one of {', '.join(EXECUTOR_NAMES)}, got '{executor}'")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise SuiteError(f"{where}: {RAY_INSTALL_HINT}")  # before any work, not after the models are trained
    return Suite(
        name=raw["name"],
        models=models,
        dataset=dataset,
        seed=raw.get("seed", 0),
        output=_check_output(raw.get("output", "results"), where),
        data_dir=raw.get("data_dir"),
        cache_dir=raw.get("cache_dir"),
        max_epochs=raw.get("max_epochs"),
        attack=attack,
        scorers=scorers,
        path=where,
        executor=executor,
        ray_address=raw.get("ray_address"),
        spheres=spheres,
    )


def _read_yaml(path):
    """The suite file's top-level mapping; any bytes that are not one are a one-line SuiteError."""
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    try:
        raw = yaml.safe_load(path.read_bytes())  # bytes: PyYAML reads UTF-8, or UTF-16/32 with a BOM
    except OSError as error:
        raise SuiteError(f"{path}: cannot read the suite file ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = " (not UTF-8 or UTF-16/32 text)" if isinstance(error, yaml.reader.ReaderError) else ""
        raise SuiteError(f"{path}: not valid YAML{line}{problem}") from None
    except RecursionError:
        raise SuiteError(f"{path}: not a suite file (nested too deeply)") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: expected a mapping of suite keys, got {type(raw).__name__}")
    return raw


def _check_output(output, where):
    """Refuses an output folder that is, or lies inside, an existing file, or is no path at all."""
    if "\0" in output:
        raise SuiteError(f"{where}: output: expected a folder path, got {output!r} (a NUL character)")
    for folder in (Path(output), *Path(output).parents):
        if folder.exists() and not folder.is_dir():
            raise SuiteError(f"{where}: output: '{output}' is not a folder ('{folder}' is a file); "
                             "choose another folder (--output)")
        if folder.exists():
            break
    return output


def _check_models(names, where):
    from robustbench_keras import zoo

    known = zoo.names()
    if not names:
        raise SuiteError(f"{where}: models: expected at least one model id")
    for index, name in enumerate(names):
        if name not in known:
            raise SuiteError(f"{where}: models[{index}]: unknown model '{name}' (known: {', '.join(known)})")
    if len(set(names)) != len(names):
        raise SuiteError(f"{where}: models: a model id is listed twice")
    return names


def _check_dataset(name, where):
    from robustbench_keras.data import DATASET_NAMES

    if name not in DATASET_NAMES:
        raise SuiteError(f"{where}: dataset: unknown dataset '{name}' (known: {', '.join(DATASET_NAMES)})")
    return name


def _check_attack(section, where):
    """The attack section as `AttackSettings` (unknown keys and wrong types refused with the known keys)."""
    try:
        check_tfp_only_keys(section)
    except SuiteError as error:
        raise SuiteError(f"{where}.{error}") from None
    try:
        return build_settings(AttackSettings, section, where)
    except SuiteError as error:  # "<where>: kappa: expected ..." reads "<where>.kappa: expected ..."
        message = str(error)
        known = {field.name for field in dataclasses.fields(AttackSettings)}
        name = message[len(where) + 2:].split(":")[0]
        if name in known and message.startswith(f"{where}: {name}:"):
            message = f"{where}.{message[len(where) + 2:]}"
        raise SuiteError(message) from None

# Scorer settings that name models of the suite.
_MODEL_FIELDS = (("adversarial_training", "baseline"), ("min_distortion", "side_by_side_models"))
# The scorers that work on min_distortion's adversarials, and what they do with them.
_USES_MIN_DISTORTION = {"transfer": "transfers", "feature_squeezing": "detects", "adversarial_training": "compares"}


def _check_scorers(section, where):
    from robustbench_keras import scorers as scorer_registry

    result = {}
    for name in SCORER_NAMES:
        if name in section:
            module = scorer_registry.get(name)
            settings = section[name] or {}
            check_type(settings, dict, f"{where}: scorers.{name}")
            result[name] = build_settings(module.Settings, settings, f"{where}: scorers.{name}")
    for name in section:
        if name not in SCORER_NAMES:
            raise SuiteError(f"{where}: scorers: unknown scorer '{name}' (known: {', '.join(SCORER_NAMES)})")
    for name, uses in _USES_MIN_DISTORTION.items():
        if name in result and "min_distortion" not in result:
            raise SuiteError(f"{where}: scorers.{name}: needs scorers.min_distortion (it {uses} those adversarials)")
    return result


def _check_spheres(raw, dataset, models, attack, scorers, where):
    """The `SpheresSpec` of a spheres suite (None otherwise), and that models, scorers and the attack's
    domain fit the dataset: spheres models, the `spheres` scorer and domains unbounded | sphere go together."""
    from robustbench_keras import zoo

    is_spheres = dataset == SPHERES
    for key, wrong in (("spheres", "spheres" in raw), ("scorers.spheres", SPHERES in scorers),
                       ("attack.domain", attack.domain != "box")):
        if wrong and not is_spheres:
            raise SuiteError(f"{where}: {key}: applies to dataset: spheres only (this suite uses {dataset})")
    try:
        spec = build_settings(SpheresSpec, raw.get("spheres") or {}, f"{where}: spheres") if is_spheres else None
    except DataError as error:
        raise SuiteError(f"{where}: {error}") from None
    for index, model_id in enumerate(models):
        dimension = zoo.get(model_id).dimension
        if dimension != (spec.dimension if is_spheres else 0):
            expected = f"a spheres model of dimension {spec.dimension}" if is_spheres else "an image model"
            raise SuiteError(f"{where}: models[{index}]: '{model_id}' is not {expected} (dataset: {dataset})")
    if is_spheres:
        if attack.domain == "box":
            raise SuiteError(f"{where}: attack.domain: expected unbounded or sphere for dataset: spheres, got box")
        others = [name for name in scorers if name != SPHERES]
        if others:
            raise SuiteError(f"{where}: scorers.{others[0]}: does not apply to dataset: spheres (use scorers.spheres)")
    return spec
