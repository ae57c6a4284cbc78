"""Attack records: save/load round trip, selection, and the summary derived from the rows."""

import numpy as np
import pytest

from robustbench_keras.attacks import AttackRecords, summarize_distortions
from robustbench_keras.errors import DataError


def _records(n=5):
    rng = np.random.default_rng(0)
    success = np.array([True, True, False, True, True])[:n]
    rms = np.where(success, rng.uniform(0.02, 0.1, n), np.nan)
    return AttackRecords(
        index=np.arange(n), label=np.arange(n) % 10, target=(np.arange(n) + 1) % 10, success=success,
        c=np.ones(n), distortion_rms=rms, distortion_l2=rms * 28, distortion_linf=rms * 3,
        num_grad_evals=np.full(n, 300), num_forward_evals=np.full(n, 50), time_s=np.full(n, 0.01),
        x_adv=rng.uniform(size=(n, 28, 28)), metadata={"attack": {"loss": "margin"}, "seed": 0})


def test_save_load_round_trip(tmp_path):
    records = _records()
    records.save(tmp_path / "records.npz")
    loaded = AttackRecords.load(tmp_path / "records.npz")
    assert loaded.metadata == records.metadata
    for name in ("index", "success", "distortion_rms", "x_adv", "num_grad_evals"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(records, name))
    assert loaded.x_adv.dtype == np.float32


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="expected an attack records .npz"):
        AttackRecords.load(tmp_path / "other.npz")


def test_select_and_concatenate():
    records = _records()
    part = records.select(records.success)
    assert len(part) == 4 and part.success.all()
    whole = AttackRecords.concatenate([records.select(np.arange(2)), records.select(np.arange(2, 5))])
    np.testing.assert_array_equal(whole.distortion_l2, records.distortion_l2)


def test_summary_is_computed_from_successful_rows():
    records = _records()
    summary = summarize_distortions(records)
    values = records.distortion_rms[records.success]
    assert summary["n"] == 5 and summary["num_success"] == 4 and summary["success_rate"] == 0.8
    assert summary["mean"] == pytest.approx(values.mean()) and summary["median"] == pytest.approx(np.median(values))
    assert summary["p90"] == pytest.approx(np.quantile(values, 0.9))
    assert summary["ci95"][0] <= values.mean() <= summary["ci95"][1]


def test_a_damaged_records_file_is_deleted_with_a_note_and_none_returned(tmp_path, capsys):
    path = tmp_path / "chunk_0000.npz"
    path.write_bytes(b"PK\x03\x04 half a file")
    assert AttackRecords.load_intact(path) is None and not path.exists()
    assert capsys.readouterr().err.startswith(f"robustbench_keras: note: {path}: expected an attack records .npz")
    assert AttackRecords.load_intact(path) is None  # missing: nothing to say
    assert capsys.readouterr().err == ""
