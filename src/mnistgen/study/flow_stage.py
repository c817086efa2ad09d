"""The study's flow-matching stage: train the ``fast`` preset, score 10,000 samples at its own solver and NFE, measure
quality against the number of function evaluations (and the adaptive reference solver) with the sampling speed,
and say from the numbers how it compares with the VAE and the GAN."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistgen import families, flow, rundir
from mnistgen.family import TrainedRun
from mnistgen.metrics import evaluate_images
from mnistgen.plotting import plt, save_figure
from mnistgen.study.context import Context
from mnistgen.study.results import Block, ModelResult, Scores, StageResult, Table

NFE = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class NfeRow:
    solver: str
    nfe: int  # evaluations of the field it took
    seconds_per_1000: float  # to draw 1,000 images on this machine
    is_mean: float
    fid: float
    precision: float
    recall: float
    coverage: float


def nfe_rows(ctx: Context, run: TrainedRun) -> list[NfeRow]:
    """Quality and drawing time against NFE (Euler at 1, the run's solver at the others), then dopri5."""
    rows, n, ev = [], ctx.profile.nfe_n, ctx.evaluator()
    solver, guidance = run.config.sample.solver, run.config.sample.guidance
    plan = [("euler" if k < flow.SOLVERS[solver] else solver, k) for k in NFE] + [("dopri5", None)]
    for name, k in plan:
        t0 = time.perf_counter()
        images, nfe = flow.draw_counted(run.network(), n, ctx.seed, flow.Solver(name, k or 0), guidance)
        seconds = (time.perf_counter() - t0) * 1000 / n
        s = evaluate_images(images, ev, seed=ctx.seed, kid_subset_size=min(ctx.profile.kid_subset, n))
        rows.append(NfeRow(name, nfe, seconds, s["is_mean"], s["fid"], s["precision"], s["recall"], s["coverage"]))
    return rows


def plot_nfe(rows: list[NfeRow], gan_ref: SweepReference | None, path: Any, title: str) -> Any:
    fixed = [r for r in rows if r.solver != "dopri5"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 4))
    ax1.plot([r.nfe for r in fixed], [r.fid for r in fixed], "o-", label="FID (lower is better)")
    ref = next((r for r in rows if r.solver == "dopri5"), None)
    if ref is not None:
        ax1.axhline(ref.fid, color="tab:blue", ls=":", label=f"dopri5 reference (NFE {ref.nfe})")
    if gan_ref is not None:
        ax1.axhline(gan_ref.fid, color="tab:red", ls="--", label=f"the cross-entropy GAN (n = {gan_ref.n:,})")
    ax1.set(xscale="log", yscale="log", xlabel="function evaluations (NFE)", ylabel="FID", title="fidelity")
    for key, style in (("is_mean", "o-"), ("recall", "s--"), ("coverage", "^:")):
        ax2.plot(
            [r.nfe for r in fixed],
            [getattr(r, key) / (10 if key == "is_mean" else 1) for r in fixed],
            style,
            label={"is_mean": "IS / 10", "recall": "recall", "coverage": "coverage"}[key],
        )
    ax2.set(
        xscale="log", xlabel="function evaluations (NFE)", ylabel="score", ylim=(0, 1.05), title="quality, coverage"
    )
    for ax in (ax1, ax2):
        ax.set_xticks(list(flow_nfe_ticks(fixed)), [str(t) for t in flow_nfe_ticks(fixed)])
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def flow_nfe_ticks(rows: list[NfeRow]) -> tuple[int, ...]:
    return tuple(r.nfe for r in rows)


def _side(ours: tuple[float, float], theirs: tuple[float, float]) -> str:
    """'ahead of', 'behind' or 'level with' on two scores where higher is better (one of them negated FID)."""
    wins, losses = sum(a > b for a, b in zip(ours, theirs)), sum(a < b for a, b in zip(ours, theirs))
    if wins == 2:
        return "ahead of"
    if losses == 2:
        return "behind"
    return "mixed against (one score better, one worse)" if wins or losses else "level with"


def _sides(verdicts: Mapping[str, str]) -> str:
    """{'conv VAE': 'behind', 'GAN': 'behind'} -> 'behind the conv VAE and the GAN'."""
    groups: dict[str, list[str]] = {}
    for name, verdict in verdicts.items():
        groups.setdefault(verdict, []).append(f"the {name}")
    return "; ".join(f"{verdict} {' and '.join(names)}" for verdict, names in groups.items())


@dataclass(frozen=True)
class SweepReference:
    """The GAN's FID over as many samples as each point of the NFE sweep, so that the two are comparable."""

    n: int
    fid: float


def comparison_words(
    flow_s: Scores, others: Mapping[str, Scores], rows: list[NfeRow], gan_ref: SweepReference | None = None
) -> str:
    """How the flow model compares with the VAE and the GAN on fidelity (FID, precision) and on coverage of the data
    (recall, coverage), from the numbers, and where on the NFE sweep its FID passes the GAN's at the same n."""
    names = list(others)
    vals = {
        k: " and ".join(f"{getattr(others[n], k):.{2 if k == 'fid' else 3}f}" for n in names)
        for k in ("fid", "precision", "recall", "coverage")
    }
    theirs = " and ".join(f"the {n}'s" for n in names)
    fidelity = _sides({n: _side((-flow_s.fid, flow_s.precision), (-o.fid, o.precision)) for n, o in others.items()})
    cover = _sides({n: _side((flow_s.recall, flow_s.coverage), (o.recall, o.coverage)) for n, o in others.items()})
    words = (
        f"FID {flow_s.fid:.2f} against {theirs} {vals['fid']}, precision {flow_s.precision:.3f} against "
        f"{vals['precision']}, recall {flow_s.recall:.3f} against {vals['recall']}, coverage "
        f"{flow_s.coverage:.3f} against {vals['coverage']}: on fidelity (FID and precision) it is {fidelity}; on "
        f"coverage of the data (recall and coverage) it is {cover}."
    )
    if gan_ref is not None:
        beats = [r for r in rows if r.solver != "dopri5" and r.fid < gan_ref.fid]
        same = f"the GAN's at the same n ({gan_ref.n:,} samples: FID {gan_ref.fid:.2f})"
        words += (
            f" On the NFE sweep its FID first falls below {same} at NFE {beats[0].nfe}."
            if beats
            else f" On the NFE sweep its FID stays above {same} at every NFE measured."
        )
    return words


def gan_reference(ctx: Context, deps: Mapping[str, StageResult]) -> SweepReference | None:
    """The cross-entropy GAN scored over the sweep's number of samples (FID is biased upwards at small n)."""
    model = deps["gan-losses-bce"].model if "gan-losses-bce" in deps else None
    if model is None or model.run_dir is None:
        return None
    n = ctx.profile.nfe_n
    images = families.open_trained(ctx.out / model.run_dir).sample(n, seed=ctx.seed)
    scores = evaluate_images(images, ctx.evaluator(), seed=ctx.seed, kid_subset_size=min(ctx.profile.kid_subset, n))
    return SweepReference(n, float(scores["fid"]))


def flow_stage(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    preset = ctx.profile.flow_preset
    cfg = ctx.configure(flow.configure(preset), "flow")
    trained = ctx.train(flow.FAMILY, cfg, "flow", preset, probe=ctx.probe())
    t0 = time.perf_counter()
    images = trained.sample(ctx.profile.n, seed=ctx.seed)
    draw_seconds = time.perf_counter() - t0
    scores = ctx.score_images(images, ctx.evaluator())
    rows, gan_ref = nfe_rows(ctx, trained), gan_reference(ctx, deps)
    others = {
        name: deps[stage].model.scores
        for stage, name in (("vae-conv", "conv VAE"), ("gan-losses-bce", "GAN"))
        if stage in deps and deps[stage].model is not None
    }
    label = f"Flow matching ({preset})"
    blocks = _blocks(ctx, trained, scores, rows, others, gan_ref, draw_seconds)
    model = ModelResult("flow", label, None, scores, ctx.rel(trained.run_dir), preset, trained.work)
    return StageResult(tuple(blocks), model, note=f"10,000 samples drawn in {draw_seconds:.1f} s")


def _blocks(
    ctx: Context,
    run: TrainedRun,
    scores: Scores,
    rows: list[NfeRow],
    others: Mapping[str, Scores],
    gan_ref: SweepReference | None,
    draw_seconds: float,
) -> list[Block]:
    figs, draw = run.run_dir / rundir.FIGURES, run.config.sample
    nfe_path = plot_nfe(
        rows,
        gan_ref,
        figs / "nfe.png",
        f"{ctx.info.title}: flow matching against the number of function evaluations (n = {ctx.profile.nfe_n:,} each)",
    )
    how = f"{draw.solver}, NFE {draw.nfe}"
    guided = (
        f", guided by its {'label' if run.config.model.code == 'labels' else 'cluster'} with weight {draw.guidance:g}"
        if run.config.model.classes and draw.guidance != 1.0
        else ""
    )
    table = Table(
        ("solver", "NFE", "s per 1,000 images", "IS", "FID", "precision", "recall", "coverage"),
        tuple(
            (r.solver, r.nfe, round(r.seconds_per_1000, 2), r.is_mean, r.fid, r.precision, r.recall, r.coverage)
            for r in rows
        ),
    )
    return [
        ctx.fig(
            figs / "samples.png",
            f"100 samples of the flow-matching model ({run.work.detail}; drawn with {how}{guided}). Over "
            f"{scores.n:,} samples: "
            + (
                comparison_words(scores, others, rows, gan_ref)
                if others
                else f"FID {scores.fid:.2f}, recall {scores.recall:.3f}, coverage {scores.coverage:.3f}."
            ),
        ),
        ctx.fig(
            figs / "path.png",
            "The learned ODE carries each noise image (left, t = 0) to a sample (right, t = 1); "
            f"columns at equal steps of t ({how}).",
        ),
        ctx.fig(
            figs / "loss.png",
            "Flow-matching loss per optimiser step (the squared error of the predicted "
            "velocity; it stays high because the target velocity is random given x_t) and the probes' IS.",
        ),
        table,
        ctx.fig(
            nfe_path,
            f"Quality against the number of evaluations of the velocity field: FID, IS, recall and "
            f"coverage of {ctx.profile.nfe_n:,} samples per point (FID is higher and IS and coverage lower over so "
            f"few samples than over {scores.n:,}), with the adaptive dopri5 solver as the reference; drawing the "
            f"study's {scores.n:,} samples at NFE {draw.nfe} took {draw_seconds:.1f} s.",
        ),
    ]
