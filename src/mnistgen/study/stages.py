"""The stages of the study, in order. A stage runs once per seed (a *unit*); it returns a :class:`StageResult`: its
scored model (if any), its report blocks and the phenomena it observed. The report renders what the units return; it
names no stage and no figure path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mnistgen import families
from mnistgen.metrics import evaluate_real, held_out, inception_score_of
from mnistgen.plotting import save_rows
from mnistgen.study.capacity import capacity_stage
from mnistgen.study.context import Context
from mnistgen.study.flow_stage import flow_stage
from mnistgen.study.losses import loss_stage
from mnistgen.study.results import EvaluatorInfo, ModelResult, Scores, StageResult
from mnistgen.study.trainings import StageFn, gan_stage, vae_stage


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    section: str  # the report section its blocks go into (see mnistgen.study.content.SECTIONS)
    run: StageFn
    needs: tuple[str, ...] = ()  # stages of the same seed that must have finished for it to run
    after: tuple[str, ...] = ()  # stages of the same seed it waits for, and runs after even if they failed
    share: float = 0.0  # its share of the study's training time (only used to split an optional --minutes cap)


def _evaluator(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    ev = ctx.evaluator()
    return StageResult(evaluator=EvaluatorInfo(ev.identity(), ev.describe()))


def _real(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    ev, s = ctx.evaluator(), ctx.setup
    n, kid = ctx.profile.n, ctx.profile.kid_subset
    scores = evaluate_real(
        ev, n=n, seed=ctx.seed, kid_subset_size=kid, data_dir=s.data_dir, download_missing=s.download_missing
    )
    mean, std = inception_score_of(held_out(ev, s.data_dir, s.download_missing), ev, n=500, seed=ctx.seed)
    metrics = scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, scores["n"])}
    label = f"real {ctx.info.title} (held out)"
    return StageResult(model=ModelResult("real", label, "real", Scores.of(metrics)))


def _comparison(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    """One figure: a row of real images, then a row of samples of the first finished VAE, GAN and flow model."""
    first = {
        kind: next((r.model for r in deps.values() if r.model is not None and r.model.kind == kind), None)
        for kind in ("vae", "gan", "flow")
    }
    models = [m for m in first.values() if m is not None]
    s = ctx.setup
    rows = [("real", held_out(ctx.evaluator(), s.data_dir, s.download_missing)[:12])]
    for m in models:
        run = families.open_trained(ctx.out / m.run_dir)  # type: ignore[operator]
        rows.append((m.label.replace(" (", "\n(", 1), run.sample(12, seed=ctx.seed)))
    names = [m.label.split(" (")[0] for m in models]  # "VAE", "GAN", "Flow matching"
    title = f"{ctx.info.title}: " + " vs ".join(["real", *names]) + " samples"  # e.g. "MNIST: real vs VAE vs GAN …"
    path = save_rows(rows, ctx.out / "figures" / "comparison.png", title)
    shown = ", ".join([f"a row of real {ctx.info.items}", *(f"a row of {m.label} samples" for m in models)])
    caption = f"{shown[0].upper()}{shown[1:]}: the first samples drawn, not chosen."
    return StageResult((ctx.fig(path, caption),))


def _loss_run(loss: str, share: float) -> Stage:
    words = {"bce": "cross-entropy", "wgan": "Wasserstein, weight clipping", "wgan-gp": "Wasserstein, gradient penalty"}
    label = words[loss]
    run = gan_stage(
        f"gan-losses-{loss}",
        lambda c: c.profile.loss_preset,
        loss,
        lambda c: f"GAN ({c.profile.loss_preset}, {label})",
        show=loss == "bce",
    )
    return Stage(f"gan-losses-{loss}", f"GAN, loss comparison: {label}", "gan", run, ("evaluator",), share=share)


GENERATORS = (
    "vae-conv",
    "vae-seed",
    "vae-seed-2d",
    "gan-losses-bce",
    "gan-losses-wgan",
    "gan-losses-wgan-gp",
    "gan-seed",
    "flow",
)
STAGES = [
    Stage("evaluator", "the dataset's evaluator classifier (shipped with the package)", "setup", _evaluator),
    Stage("real", "real-data reference scores", "setup", _real, ("evaluator",)),
    Stage(
        "vae-conv",
        "VAE, strong convolutional preset (mixture prior)",
        "vae",
        vae_stage("conv", "VAE (conv)"),
        ("evaluator",),
        share=1.5,
    ),
    Stage(
        "vae-seed",
        "VAE, the study's LSTM / tiny-decoder networks (latent 10), with early stopping",
        "vae",
        vae_stage("seed", "VAE (seed)"),
        ("evaluator",),
        share=1.2,
    ),
    Stage(
        "vae-seed-2d",
        "VAE, the seed networks with a 2-D latent (the latent map), started from the 10-D one",
        "vae",
        vae_stage("seed-2d", "VAE (seed, 2-D)", warm_from="vae-seed"),
        ("evaluator", "vae-seed"),
        share=0.5,
    ),
    _loss_run("bce", 1.2),
    _loss_run("wgan", 1.2),
    _loss_run("wgan-gp", 2.0),
    Stage(
        "gan-losses",
        "cross-entropy vs Wasserstein at equal work: convergence and stability",
        "gan",
        loss_stage,
        after=("gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp"),
    ),
    Stage(
        "gan-seed",
        "GAN, the study's seed DCGAN (its architecture exactly, a fast recipe)",
        "gan",
        gan_stage("gan-seed", lambda c: c.profile.seed_gan_preset, "bce", lambda c: "GAN (seed DCGAN)", show=True),
        ("evaluator",),
        share=2.5,
    ),
    Stage(
        "gan-capacity",
        "generator capacity vs mode collapse (a too-weak MLP, then wider and wider conv generators)",
        "gan",
        capacity_stage,
        ("evaluator", "gan-losses-bce"),
        share=3.2,
    ),
    Stage(
        "flow",
        "flow matching (a small U-Net, rectified flow), quality against the number of function evaluations",
        "flow",
        flow_stage,
        ("evaluator",),
        after=("vae-conv", "gan-losses-bce"),
        share=2.5,
    ),
    Stage("comparison", "qualitative comparison figure", "comparison", _comparison, ("evaluator",), after=GENERATORS),
]
BY_NAME = {s.name: s for s in STAGES}
