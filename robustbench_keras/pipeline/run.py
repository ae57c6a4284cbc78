"""`run SUITE`: data, models, scorers, leaderboard and reports.

Resumable: trained models come from the zoo's cache and attacked examples from the per-example records
already on disk, so a run started again after an interruption redoes nothing that was finished and
ends with the same results. One run at a time writes an output folder (`run.lock`).
"""

import contextlib
import time
from pathlib import Path

import filelock

from robustbench_keras.data import load_dataset
from robustbench_keras.errors import LeaderboardError
from robustbench_keras.executors import make_executor
from robustbench_keras.executors.timings import TIMINGS_FILE, write_timings
from robustbench_keras.leaderboard import reports
from robustbench_keras.leaderboard.document import build_document
from robustbench_keras.leaderboard.store import load_leaderboard, update_leaderboard, write_leaderboard
from robustbench_keras.pipeline.cleanup import merged_columns
from robustbench_keras.pipeline.models import prepare_zoo_models
from robustbench_keras.pipeline.scoring import score_models


def run_suite(suite, progress=True, executor=None):
    """Runs every stage of `suite` and writes its outputs.

    Args:
        suite: a validated `Suite`.
        progress: show progress lines on stderr.
        executor: where the units of work run; None: the suite's `executor` (made here, closed at the end).

    Returns:
        `(written, stage_times)`: {output name: path} of what was written (leaderboard, tables, page,
        figures folder, per-unit timings), and the wall time of each stage in seconds.
    """
    output = Path(suite.output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LeaderboardError(f"{output}: cannot create the output folder ({error.strerror}); choose another "
                               "--output") from None
    leaderboard_path = output / "leaderboard.json"
    with _only_run(output), _executor_for(suite, executor, progress) as executor:
        if leaderboard_path.exists():
            load_leaderboard(leaderboard_path)  # refuse a corrupt leaderboard before any work
        dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress,
                           spheres_spec=suite.spheres)
        start = time.perf_counter()
        models, entries = prepare_zoo_models(suite, dataset, progress, executor)
        stage_times = {"models_s": time.perf_counter() - start}
        context = score_models(suite, dataset, models, entries, output, progress=progress, executor=executor)
        publish(leaderboard_path, build_document(suite, dataset, entries.values(), context.document_sections))
        start = time.perf_counter()
        written = {"leaderboard": leaderboard_path, **reports.publish_reports(output, context),
                   "unit_timings": write_timings(output / TIMINGS_FILE, executor.timings)}
    stage_times.update(context.stage_times, reports_s=time.perf_counter() - start)
    return written, stage_times


@contextlib.contextmanager
def _executor_for(suite, executor, progress):
    """`executor`, or the suite's own one, made for the run and closed after it."""
    if executor is not None:
        yield executor
        return
    executor = make_executor(suite.executor, suite.ray_address, progress)
    try:
        yield executor
    finally:
        executor.close()


@contextlib.contextmanager
def _only_run(output):
    """Holds `<output>/run.lock` for the run; a second run of the same folder is refused at once.

    The lock file records the holder's PID; a killed run's lock is reclaimed by the next one.
    """
    lock = filelock.SoftFileLock(output / "run.lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LeaderboardError(
            f"{output}: another run is writing this folder (pid {lock.pid or 'unknown'}); wait for it to finish "
            "or choose another --output"
        ) from None
    try:
        yield
    finally:
        lock.release()


def publish(path, document):
    """Writes a run's document, keeping the submitted entries of the leaderboard already at `path`.

    An existing file that is corrupt or invalid is refused (LeaderboardError), never overwritten.
    """
    if not path.exists():
        write_leaderboard(path, document)
        return document

    def keep_submissions(previous):
        submitted = [entry for entry in previous["entries"] if entry["source"] == "submission"]
        before = {entry["id"]: entry for entry in previous["entries"]}
        entries = [_with_submission_columns(entry, before.get(entry["id"]), submitted) for entry in document["entries"]]
        return dict(document, entries=entries + submitted)

    return update_leaderboard(path, keep_submissions)


def _with_submission_columns(entry, before, submitted):
    """A zoo entry keeping the submissions' columns of its previous transfer row, where that row was made
    from the same attack records (same sha256): a run beside a submission then loses none of its cells."""
    if before is None or "transfer" not in entry or "transfer" not in before:
        return entry
    records = [summary["records"]["sha256"] for summary in entry.get("min_distortion", {}).values()]
    previous = [summary["records"]["sha256"] for summary in before.get("min_distortion", {}).values()]
    if records != previous:
        return entry
    submitted_ids = {e["id"] for e in submitted}
    columns = {field: {key: value for key, value in before["transfer"].get(field, {}).items() if key in submitted_ids}
               for field in ("errors_on", "errors_on_ci")}
    return dict(entry, transfer=merged_columns(columns, entry["transfer"]))

