"""robustbench_keras: adversarial-robustness benchmark suites for Keras models.

Reproduces and extends Szegedy et al. 2014, *Intriguing properties of neural networks*
(arXiv 1312.6199). The stages of a run, one subpackage each:

1. `data`: MNIST / Fashion-MNIST in IDX order, with a data fingerprint;
2. `zoo`: the paper's models, trained by seeded recipes and cached;
3. `attacks`: the box-constrained L-BFGS minimal-distortion attack;
4. `scorers`: Tables 1-5 and Property 1;
5. `leaderboard`: entries, schema, store, rendered tables and figures.
"""

from robustbench_keras import quiet as _quiet  # noqa: F401  (sets TensorFlow's log variables; imports no TF)

__version__ = "0.1.0"
__all__ = ["__version__"]
