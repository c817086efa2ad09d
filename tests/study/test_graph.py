"""The study as a graph of units on Dask, with stand-in stages that train nothing: a failed unit is recorded while the
others finish, its dependants are skipped, `after` waits without requiring, a resume reruns only what did not finish,
more seeds extend a study, and the checks a worker must pass before it runs anything."""

from __future__ import annotations

import json

import pytest

import mnistgen
from mnistgen.stagekit import Section, Stage, StageResult, Text
from mnistgen.study import Cluster, Request, caps, run_study, stages
from mnistgen.study.state import StudyState, UnitRecord, parse_seeds, seed_words
from mnistgen.study.units import check_worker

SECTION = Section("fake", "Fake stages", 50)


def _stage(name, needs=(), after=(), fail=False):
    def run(ctx, deps):
        ran = ctx.out / "ran.txt"
        ran.write_text(ran.read_text() + name + "\n" if ran.exists() else name + "\n")
        if fail and not (ctx.setup.out / "mend").exists():
            raise RuntimeError("boom")
        return StageResult((Text(f"{name} after {', '.join(sorted(deps)) or 'nothing'}"),), note=name)

    return Stage(name, name, SECTION, run, needs=needs, after=after)


FAKE = [
    _stage("a"),
    _stage("b", needs=("a",)),
    _stage("c", needs=("b",), fail=True),
    _stage("d", needs=("c",)),
    _stage("e", after=("c",)),
    _stage("f"),
]


@pytest.fixture
def fake_stages(monkeypatch):
    monkeypatch.setattr(stages, "study_stages", lambda dataset=None: FAKE)


def _run(out, data_dir, seeds, **kw):
    return run_study(
        out,
        Request("quick", "mnist", seeds, 1),
        data_dir=str(data_dir),
        device="cpu",
        cluster=Cluster(workers=2, processes=False),
        **kw,
    )


def _ran(out, seed):
    return (out / f"seed-{seed}" / "ran.txt").read_text().split()


def test_a_failed_unit_is_recorded_and_the_rest_of_the_graph_completes(fake_stages, tmp_path, tiny_mnist_dir):
    state = _run(tmp_path / "s", tiny_mnist_dir, (0, 1))
    for seed in (0, 1):
        status = {r.stage: r.status for r in state.units.values() if r.seed == seed}
        assert status == {"a": "done", "b": "done", "c": "failed", "d": "skipped", "e": "done", "f": "done"}
        assert state.get("c", seed).error == "RuntimeError: boom" and state.get("d", seed).error == "needs c"
        assert state.get("e", seed).result.blocks[0].text == "e after nothing"  # c failed: e ran without it
        assert sorted(_ran(tmp_path / "s", seed)) == ["a", "b", "c", "e", "f"]
        assert "RuntimeError: boom" in (tmp_path / "s" / f"seed-{seed}" / "c.error.txt").read_text()
    saved = json.loads((tmp_path / "s" / "study.json").read_text())
    assert saved["version"] == 2 and saved["units"]["1/c"]["status"] == "failed"


def test_a_resume_reruns_only_what_did_not_finish_and_more_seeds_extend_the_study(
    fake_stages, tmp_path, tiny_mnist_dir
):
    out = tmp_path / "s"
    _run(out, tiny_mnist_dir, (0,))
    (out / "mend").touch()  # the failing stage now succeeds
    state = _run(out, tiny_mnist_dir, (0, 2), resume=True)
    ran = _ran(out, 0)
    assert sorted(ran[:5]) == ["a", "b", "c", "e", "f"] and ran[5:] == ["c", "d"]  # only c (failed) and d (skipped)
    assert sorted(_ran(out, 2)) == ["a", "b", "c", "d", "e", "f"] and state.seeds == (0, 2)
    assert all(r.status == "done" for r in state.units.values())
    assert state.get("d", 0).result.blocks[0].text == "d after c"


def test_seed_lists_parse_and_print():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4) and parse_seeds("2, 0,2") == (2, 0)
    assert parse_seeds("0-2,7") == (0, 1, 2, 7)
    assert seed_words((0, 1, 2, 3, 4)) == "0-4" and seed_words((0, 2)) == "0, 2" and seed_words((3,)) == "3"
    for bad in ("", "a", "3-1", "-1", "1-x"):
        with pytest.raises(mnistgen.MnistgenError, match="--seeds"):
            parse_seeds(bad)


def test_a_worker_that_cannot_see_the_study_or_computes_otherwise_is_named(tmp_path):
    probe = tmp_path / "study" / ".mnistgen-probe-1234"
    assert (
        check_worker(str(probe), "native") == f"cannot see the study folder {probe.parent} (workers need it at that "
        "path, on a shared filesystem)"
    )
    probe.parent.mkdir()
    probe.touch()
    assert check_worker(str(probe), "native") == ""
    assert "kernels, the study with zz: start it with `mnistgen worker SCHEDULER --kernels zz`" in check_worker(
        str(probe), "zz"
    )


def test_a_minutes_cap_is_shared_by_the_training_stages():
    noop = lambda ctx, deps: StageResult()
    parts = [
        Stage("a", "", SECTION, noop, share=3.0),
        Stage("b", "", SECTION, noop),
        Stage("c", "", SECTION, noop, share=1.0),
    ]
    assert caps(parts, 8.0) == {"a": 6.0, "c": 2.0} and caps(parts, 0) == {}
    assert sum(caps(stages.study_stages(), 10.0).values()) == pytest.approx(10.0)


def test_records_keep_the_study_order_whatever_order_they_finished_in():
    state = StudyState("quick", "mnist", (1, 0), 1, "native")
    for seed, stage in ((0, "f"), (1, "b"), (0, "a"), (1, "a"), (0, "old")):
        state.record(UnitRecord(stage, seed, "done", result=StageResult()))
    order = [(r.seed, r.stage) for r in state.ordered(["a", "b", "f"])]
    assert order == [(1, "a"), (1, "b"), (0, "a"), (0, "f"), (0, "old")]
