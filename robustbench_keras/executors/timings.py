"""Per-unit timings of a run (stage, unit, node, seconds), kept by the executor, written by the driver."""

import dataclasses
import socket
import time

from robustbench_keras.atomic import atomic_write_text

TIMINGS_FILE = "unit_timings.md"


@dataclasses.dataclass(frozen=True)
class UnitTiming:
    """Where one unit of work ran and how long it took (seconds measured on its worker)."""

    stage: str
    unit: str
    node: str
    seconds: float


def timed(function, unit):
    """Runs `function(unit)` and returns `(result, node name, seconds)`; this is what a worker runs."""
    start = time.perf_counter()
    result = function(unit)
    return result, socket.gethostname(), time.perf_counter() - start


def write_timings(path, timings):
    """Writes the per-unit timing table (markdown, one row per unit, then a total per stage and node)."""
    lines = ["# Time per unit of work", "", "| Stage | Unit | Node | Seconds |", "| --- | --- | --- | ---: |"]
    lines += [f"| {t.stage} | {t.unit} | {t.node} | {t.seconds:.2f} |" for t in timings]
    totals = {}
    for t in timings:
        totals[(t.stage, t.node)] = totals.get((t.stage, t.node), 0.0) + t.seconds
    lines += ["", "| Stage | Node | Units | Seconds |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {stage} | {node} | {sum(1 for t in timings if (t.stage, t.node) == (stage, node))} | {total:.2f} |"
              for (stage, node), total in totals.items()]
    return atomic_write_text(path, "\n".join(lines) + "\n")
