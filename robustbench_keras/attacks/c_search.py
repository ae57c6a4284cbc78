"""Per-example search over c, the weight of `||r||_2^2` in the attack objective.

With c on the distortion term, a larger c gives a smaller perturbation, so the smallest successful
perturbation comes from the *largest* c that still reaches the target (the paper's "minimum c"
wording does not match its own parametrisation). Each example's c is first bracketed by
multiplying (after a success) or dividing (after a failure) by `factor`, then bisected
geometrically between the largest success and the smallest failure, as Foolbox's Carlini-Wagner
attack does with length-N bounds.
"""

import numpy as np


class CSearch:
    """Bracketing then geometric bisection of c, independently for each of n examples.

    Args:
        initial_c: float or float array (n,), the first c of each example (> 0).
        num_examples: n.
        factor: bracketing factor (> 1).

    Attributes:
        c: float64 (n,), the c to try next.
        c_success: float64 (n,), the largest c that reached the target so far (0 if none).
        c_failure: float64 (n,), the smallest c that missed it so far (inf if none).
    """

    def __init__(self, initial_c, num_examples, factor=10.0):
        self.c = np.broadcast_to(np.asarray(initial_c, dtype=np.float64), (num_examples,)).copy()
        self.c_success = np.zeros(num_examples)
        self.c_failure = np.full(num_examples, np.inf)
        self.factor = float(factor)

    def update(self, success):
        """Records whether the solve at `self.c` reached the target and moves c to its next value.

        Args:
            success: bool (n,).

        Returns:
            The next c, float64 (n,).
        """
        success = np.asarray(success, dtype=bool)
        self.c_success = np.where(success, np.maximum(self.c_success, self.c), self.c_success)
        self.c_failure = np.where(success, self.c_failure, np.minimum(self.c_failure, self.c))
        bracketed = (self.c_success > 0) & np.isfinite(self.c_failure)
        bisected = np.sqrt(self.c_success * np.where(bracketed, self.c_failure, 1.0))
        widened = np.where(success, self.c * self.factor, self.c / self.factor)
        self.c = np.where(bracketed, bisected, widened)
        return self.c
