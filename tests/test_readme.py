"""The README's submission snippet runs as written: quiet, and nothing left beside the checkout's files."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet():
    text = README.read_text()
    section = text.split("## Submit your own model")[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_submission_snippet_trains_saves_and_prints_no_tensorflow_start_up(tmp_path):
    code = _snippet().replace("/path/to/mnist", os.environ["ROBUSTBENCH_KERAS_DATA_DIR"])
    code = code.replace("epochs=5", "epochs=1")  # the same lines, one epoch
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "my_mlp.keras").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    for noise in ("oneDNN", "cuInit", "CUDA", "absl"):
        assert noise not in result.stderr, result.stderr
