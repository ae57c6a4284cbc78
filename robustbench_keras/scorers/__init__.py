"""Scorers, one module per suite key and leaderboard section, run in the order listed here.

- `min_distortion`: Tables 1 and 3 (clean errors, average minimal distortion);
- `transfer`: Tables 2 and 4 (cross-model error of adversarial examples, noise controls);
- `spectral`: Table 5 (layerwise upper Lipschitz bounds);
- `unit_semantics`: Property 1 (units versus random directions);
- `feature_squeezing`: the feature-squeezing detector (Xu et al. 2018) on the L-BFGS adversarials;
- `adversarial_training`: Section 4.2 (models trained with adversarial examples beside their baseline);
- `spheres`: adversarial spheres (Gilmer et al. 2018), error rate against distance to the nearest error;
- `verification`: exact MILP verification at L∞ radii (Xiao et al. 2019, Table 1).

Every scorer module follows one contract (CONTRIBUTING.md shows a worked example):

    Settings                                   # frozen dataclass: the suite section, typed
    run(settings, context) -> None             # fills context.entries[id].sections[name], context.*
    tables(document, baselines, settings)      # -> [tables.Table] its rows in tables.md / index.html
    figures(document, context)                 # -> [(caption, file name, draw, args)] (optional)

Adding a scorer is one new module and its name in `SCORER_NAMES`.
"""

import importlib

from robustbench_keras.errors import SuiteError

SCORER_NAMES = ("min_distortion", "transfer", "spectral", "unit_semantics", "feature_squeezing", "adversarial_training",
                "spheres", "verification")


def get(name):
    """Returns the scorer module called `name`; an unknown name lists the known ones."""
    if name not in SCORER_NAMES:
        raise SuiteError(f"unknown scorer '{name}' (known: {', '.join(SCORER_NAMES)})")
    return importlib.import_module(f"robustbench_keras.scorers.{name}")
