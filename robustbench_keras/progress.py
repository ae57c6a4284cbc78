"""One progress helper for every long loop: a line on stderr, redrawn in place on a terminal."""

import itertools
import sys
import time


class Progress:
    """Counts work done and prints `desc: done/total (rate, eta)` to stderr.

    Args:
        desc: what is being done, e.g. "training fc100_100_10".
        total: how many steps make the whole.
        unit: the name of one step, e.g. "epoch" or "example".
        enabled: False silences it (library callers and tests).
        stream: where the lines go (default: stderr).
        weights: optional relative cost of each step, in the order they are done (`total` positive
            numbers, e.g. `zoo.training_cost` per model); the ETA is then elapsed / weight done x weight
            left, instead of assuming equal steps.
    """

    def __init__(self, desc, total, unit="step", enabled=True, stream=None, weights=None):
        self.desc, self.total, self.unit, self.enabled = desc, int(total), unit, enabled
        weights = None if weights is None else [float(weight) for weight in weights]
        if weights is not None and (len(weights) != self.total or min(weights, default=1.0) <= 0):
            raise ValueError(f"Progress({desc!r}): expected {self.total} positive weights, got {weights}")
        self.cumulative = None if weights is None else [0.0, *itertools.accumulate(weights)]
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self._last_print = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._print(force=True)

    def update(self, steps=1, info=""):
        """Records `steps` more steps, with an optional short status."""
        self.done += steps
        self._print(force=self.done >= self.total, info=info)

    def close(self, info=""):
        """Prints the final line."""
        if self.enabled and self._tty:
            self.stream.write("\n")
        elif self.enabled and self.done < self.total:
            self._print(force=True, info=info)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _print(self, force=False, info=""):
        if not self.enabled:
            return
        now = time.perf_counter()
        # On a pipe print at most every 10 s, so logs stay short.
        if not force and now - self._last_print < (0.2 if self._tty else 10.0):
            return
        self._last_print = now
        elapsed = now - self.start
        line = f"{self.desc}: {self.done}/{self.total} {self.unit}s, {elapsed:.1f}s"
        if 0 < self.done < self.total:
            line += f", eta {self._eta(elapsed):.0f}s"
        if info:
            line += f" ({info})"
        self.stream.write(("\r" + line + "\033[K") if self._tty else line + "\n")
        self.stream.flush()

    def _eta(self, elapsed):
        """Seconds left: the time per unit of weight so far, times the weight left."""
        if self.cumulative is None:
            return elapsed / self.done * (self.total - self.done)
        done = self.cumulative[self.done]
        return elapsed / done * (self.cumulative[-1] - done)


def note(message, stream=None):
    """Prints one line `robustbench_keras: note: <message>` on stderr (e.g. a damaged file being redone)."""
    print(f"robustbench_keras: note: {message}", file=stream or sys.stderr, flush=True)
