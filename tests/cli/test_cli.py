"""CLI: one-line `error:` messages, non-zero exits, no tracebacks; `mnistgen data`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mnistgen.cli import main
from mnistgen.rundir import write_json


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["data", "--dataset", "kmnist"], "invalid choice: 'kmnist'"),
        (["sample"], "the following arguments are required"),
        (["sample", "/nonexistent/run", "--out", "x.npz"], "run directory /nonexistent/run does not exist"),
        (["plot", "/nonexistent/run"], "does not exist"),
    ],
)
def test_errors_are_one_line(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_sample_refuses_non_generator_runs(capsys, tmp_path):
    write_json(tmp_path / "config.json", {"kind": "classifier", "config": {}})
    code, _, err = _run(capsys, "sample", str(tmp_path), "-n", "4", "--out", str(tmp_path / "s.npz"))
    assert code == 2 and "does not generate images" in err
    code, _, err = _run(capsys, "sample", str(tmp_path), "-n", "0", "--out", str(tmp_path / "s.npz"))
    assert code == 2 and "-n must be a positive number" in err
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = _run(capsys, "sample", str(tmp_path), "--out", str(tmp_path / "s.npz"))
    assert code == 2 and "not valid JSON" in err


def test_data_command_reports_location_and_checksums(capsys, tiny_mnist_dir):
    code, out, _ = _run(capsys, "data", "--dataset", "mnist", "--data-dir", str(tiny_mnist_dir))
    assert code == 0
    assert "mnist: data-dir" in out and "train 1,000 images, test 200 images" in out
    assert out.count("md5 ") == 4


def test_data_command_when_missing(capsys, tmp_path, monkeypatch):
    from mnistgen import data

    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    code, out, _ = _run(capsys, "data", "--dataset", "fashion-mnist")
    assert code == 0 and "fashion-mnist: not found" in out and "apt-get install dataset-fashion-mnist" in out


def test_console_entry_point_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mnistgen", "sample", str(tmp_path), "--out", "x.npz"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr
    help_ = subprocess.run([sys.executable, "-m", "mnistgen", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "sample" in help_.stdout and "data" in help_.stdout
