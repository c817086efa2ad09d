"""What a study does when the machine fails it: a disk that will not take a file stops the study with one line and
loses nothing (a resume gives the uninterrupted study), a lost worker's unit is retried by Dask and the report says
it ran again, and relative folders reach the workers as absolute paths."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from mnistgen import rundir
from mnistgen.cli import main
from mnistgen.errors import MnistgenError
from mnistgen.stagekit import Section, Stage, StageResult, Text
from mnistgen.study import Cluster, Request, run_study, stages
from mnistgen.study.content import build_blocks
from mnistgen.study.state import StudyState, UnitRecord
from mnistgen.study.units import count_attempt

SECTION = Section("fake", "Fake stages", 50)
FULL = {"disk": None}  # the folder whose next write fails, as on a full disk


def _writer(name: str):
    def run(ctx, deps):
        target = ctx.out / name / "result.json"
        if FULL["disk"] is not None and FULL["disk"] in target.parents:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        rundir.write_json(target, {"stage": name, "after": sorted(deps)})
        return StageResult((Text(f"{name} wrote {target.name}"),), note=name)

    return Stage(name, name, SECTION, run, needs=("a",) if name != "a" else ())


FAKE = [_writer("a"), _writer("b"), _writer("c")]


@pytest.fixture
def fake_stages(monkeypatch):
    monkeypatch.setattr(stages, "study_stages", lambda dataset=None: FAKE)
    yield
    FULL["disk"] = None


def _run(out: Path, data_dir: Path, resume: bool = False) -> StudyState:
    request = Request("quick", "mnist", (0,), 1)
    cluster = Cluster(workers=1, processes=False)  # a thread worker sees the stand-in stages
    return run_study(out, request, data_dir=str(data_dir), device="cpu", cluster=cluster, resume=resume)


def test_a_full_disk_stops_the_study_in_one_line_and_a_resume_finishes_it(fake_stages, tmp_path, tiny_mnist_dir):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _run(whole, tiny_mnist_dir)
    FULL["disk"] = cut / "seed-0" / "b"
    with pytest.raises(MnistgenError) as caught:
        _run(cut, tiny_mnist_dir)
    assert str(caught.value) == (
        f"cannot write in {cut / 'seed-0' / 'b'}: No space left on device (unit b, seed 0); the study stopped: free "
        "the space and continue it with --resume"
    )
    saved = json.loads((cut / "study.json").read_text())  # whole, the last state before the failure
    assert saved["units"]["0/a"]["status"] == "done" and saved["units"]["0/b"]["status"] == "failed"
    assert not list(cut.rglob("*.tmp")) and not (cut / "seed-0" / "b").exists()  # nothing half-written
    FULL["disk"] = None  # space freed
    _run(cut, tiny_mnist_dir, resume=True)
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (whole, cut)]
    assert metrics[0] == metrics[1]
    assert json.loads((cut / "study.json").read_text())["units"]["0/b"]["attempts"] == 2


def test_a_folder_the_study_cannot_create_is_one_line(fake_stages, tmp_path, tiny_mnist_dir, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user that writes anywhere (root): no read-only folder to test")
        args = ["run", "--out", str(locked / "study"), "--data-dir", str(tiny_mnist_dir), "--quick"]
        assert main(args) == 2
        assert capsys.readouterr().err.startswith(f"error: cannot write in {locked}")
    finally:
        locked.chmod(0o700)


def test_a_relative_study_folder_reaches_the_workers_absolute(fake_stages, tmp_path, tiny_mnist_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = run_study(
        "rel/study",
        Request("quick", "mnist", (0,), 1),
        data_dir=os.path.relpath(tiny_mnist_dir),
        device="cpu",
        cluster=Cluster(workers=1, processes=False),
    )
    assert state.get("c", 0).status == "done" and (tmp_path / "rel" / "study" / "seed-0" / "c").is_dir()


def _dies_the_first_time(marker: str) -> str:
    """Kills its worker process the first time it runs (as a machine that goes away would), then succeeds."""
    if not os.path.exists(marker):
        Path(marker).write_text("died once\n")
        os._exit(1)
    return f"ran in {os.getpid()}"


def test_dask_runs_a_task_again_when_its_worker_is_lost(tmp_path):
    local = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    with local, Client(local) as client:
        assert client.submit(_dies_the_first_time, str(tmp_path / "marker"), pure=False).result(timeout=120)
        assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 3


def test_a_unit_started_again_says_so_in_the_report(tmp_path):
    assert [count_attempt(tmp_path, "gan-seed") for _ in range(3)] == [1, 2, 3]
    state = StudyState("quick", "mnist", (0,), 1, "native")
    state.record(UnitRecord("x", 0, "done", 1.0, StageResult(note="x"), attempts=2))
    table = next(
        b for b in build_blocks(state, state.ordered(["x"]), FAKE) if getattr(b, "headers", ("",))[0] == "stage"
    )
    assert "started 2 times (a worker was lost, or the study was interrupted)" in table.rows[0][-1]
