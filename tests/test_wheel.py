"""The package as a user installs it: a wheel built from the checkout runs suites/smoke.yaml from a new venv.

The smoke suite is cut down (`SMALLER`: one epoch, four attacked examples, a short search) but keeps its
models and scorers, so the run still imports every module and reads every package file the suite needs.

The wheel is built offline from a copy of the checkout (`pip wheel --no-build-isolation`: the build tools of
the running venv, which `scripts/test` installs) and installed without dependencies into a new venv
outside the checkout. That venv borrows the running venv's installed dependencies through a `.pth` file;
a `.pth` file's directories are added to `sys.path` without running the `.pth` files inside them, so the
checkout's editable install stays out and only the wheel's copy of `robustbench_keras` can be imported.
Nothing is downloaded. Whatever the wheel lacks (a module, package data such as the paper's baselines,
the console script) makes the smoke run fail here, as it would for a user.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

CHECKOUT = Path(__file__).resolve().parents[1]
# Not part of the source: version control, environments, build and run outputs.
NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "results", ".cache", ".benchmarks", ".pytest_cache",
              "__pycache__", "*.egg-info", "*.pyc")
RUN_TIMEOUT_S = 900
# Changes to suites/smoke.yaml: the test is about what the wheel holds, not about the numbers.
SMALLER = {"max_epochs": 1,
           "attack": {"num_c_steps": 2, "max_evaluations": 20, "rescue_evaluations": 20, "num_walk_steps": 10,
                      "num_restart_steps": 0},
           "scorers": {"min_distortion": {"num_examples": 4, "chunk_size": 4},
                       "unit_semantics": {"num_directions": 4, "top_k": 4, "num_examples": 500, "num_resamples": 50}}}


def _smaller_smoke_suite(path):
    """suites/smoke.yaml with `SMALLER`'s settings merged in, written to `path`; returns the suite's content."""
    suite = yaml.safe_load((CHECKOUT / "suites" / "smoke.yaml").read_text())
    suite["max_epochs"] = SMALLER["max_epochs"]
    suite["attack"].update(SMALLER["attack"])
    for name, settings in SMALLER["scorers"].items():
        suite["scorers"][name].update(settings)
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return suite


def _run(command, where, env=None, timeout=600):
    result = subprocess.run(
        [str(part) for part in command], cwd=where, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result.stdout


def _build_wheel(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", dist, source], tmp_path)
    (wheel,) = dist.glob("robustbench_keras-*.whl")
    return wheel


def _fresh_venv(tmp_path, wheel):
    """A new venv with the wheel installed and the running venv's site-packages appended to its path."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", wheel], tmp_path)
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
                         .strip())
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "borrowed-dependencies.pth").write_text("".join(f"{path}\n" for path in borrowed))
    return venv, site_packages


def _isolated_environment(venv):
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH")
           and not key.startswith("ROBUSTBENCH_KERAS_")}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1")
    return env


def test_wheel_in_a_fresh_venv_runs_the_smoke_suite(tmp_path, mnist_dir):
    assert not tmp_path.resolve().is_relative_to(CHECKOUT), "the run must happen outside the checkout"
    wheel = _build_wheel(tmp_path)
    venv, site_packages = _fresh_venv(tmp_path, wheel)
    env = _isolated_environment(venv)
    where = tmp_path / "run"
    where.mkdir()

    imported = _run([venv / "bin" / "python", "-c", "import robustbench_keras; print(robustbench_keras.__file__)"],
                    where, env).strip()
    assert Path(imported).is_relative_to(site_packages / "robustbench_keras"), imported

    suite = where / "smoke.yaml"
    models = _smaller_smoke_suite(suite)["models"]
    output = where / "results"
    _run([venv / "bin" / "robustbench-keras", "run", suite, "--output", output, "--data-dir", mnist_dir,
          "--cache-dir", where / "models", "--quiet"], where, env, timeout=RUN_TIMEOUT_S)

    document = json.loads((output / "leaderboard.json").read_text())
    assert [entry["id"] for entry in document["entries"]] == models
    assert document["software"]["robustbench_keras"] == wheel.name.split("-")[1]
    assert all(entry["clean_errors"]["test"] < 0.2 for entry in document["entries"])
    # The paper's values come from the package's baselines: Table 1's FC10(1e-4) row starts with its 6.7% train error.
    tables = (output / "tables.md").read_text()
    assert "| FC10(1e-4) | 6.7 \\|" in tables
    assert (output / "index.html").is_file() and any((output / "figures").iterdir())
