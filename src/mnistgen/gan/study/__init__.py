"""The GAN's part of the study: the same generator trained with each loss for the same work and compared, the study's
seed DCGAN, and the capacity ladder from a generator too weak for its discriminator to the loss comparison's -- and
the sub-studies that run some of them alone (``mnistgen compare-losses``, ``mnistgen sweep gan-capacity``).

Modules: ``runs`` (a GAN stage: train, score, describe), ``losses`` (the comparison at equal work and its race),
``capacity`` (the ladder and the collapse), ``figures``, ``words`` (their captions).
"""

from __future__ import annotations

from mnistgen.gan.study.capacity import CLAIMS as CAPACITY_CLAIMS
from mnistgen.gan.study.capacity import LadderRecipe, capacity_stage
from mnistgen.gan.study.losses import CLAIMS as LOSS_CLAIMS
from mnistgen.gan.study.losses import loss_stage
from mnistgen.gan.study.runs import gan_stage
from mnistgen.gan.study.stacked import CLAIM as PACKING_CLAIM
from mnistgen.gan.study.stacked import packing_stage, stacked_stage
from mnistgen.stacked import NAME as STACKED
from mnistgen.stagekit import EVALUATOR, Recipe, Section, Stage, SubStudy
from mnistgen.stagekit.modes import ModesRecipe, reaches_all

SECTION = Section("gan", "GAN", 20)
KIND = "gan"
_QUICK = {
    "train.steps": 4,
    "train.batch_size": 8,
    "train.probe_every": 4,
    "train.probe_n": 50,
    "train.grid_every": 0,
    "train.checkpoint_every": 2,
    "train.ema_bn_latents": 128,
}
LOSS_WORDS = {
    "bce": "cross-entropy",
    "wgan": "Wasserstein, weight clipping",
    "wgan-gp": "Wasserstein, gradient penalty",
}


def _loss_run(loss: str, share: float) -> Stage:
    """One loss of the comparison: the fast preset (the original's seed DCGAN on the paper profile) with ``loss``."""
    words = LOSS_WORDS[loss]
    recipes = {
        "full": Recipe("fast"),
        "quick": Recipe("fast", _QUICK | {"model.categories": 20}),
        "paper": Recipe("seed"),
    }
    return Stage(
        f"gan-losses-{loss}",
        f"GAN, loss comparison: {words}",
        SECTION,
        gan_stage(loss, f"GAN ({{preset}}, {words})", show=loss == "bce"),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes=recipes,
        share=share,
    )


LOSS_RUNS = ("gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp")
STAGES: tuple[Stage, ...] = (
    _loss_run("bce", 1.2),
    _loss_run("wgan", 1.2),
    _loss_run("wgan-gp", 2.0),
    Stage(
        "gan-losses",
        "cross-entropy vs Wasserstein at equal work: convergence and stability",
        SECTION,
        loss_stage,
        after=LOSS_RUNS,
        claims=LOSS_CLAIMS,
    ),
    Stage(
        "gan-seed",
        "GAN, the study's seed DCGAN (its architecture exactly, a fast recipe)",
        SECTION,
        gan_stage("bce", "GAN (seed DCGAN)", show=True),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes={"full": Recipe("seed-fast"), "quick": Recipe("seed-fast", _QUICK), "paper": Recipe("seed")},
        share=2.5,
    ),
    Stage(
        "gan-capacity",
        "generator capacity vs mode collapse (a too-weak MLP, then wider and wider conv generators)",
        SECTION,
        capacity_stage,
        needs=(EVALUATOR, "gan-losses-bce"),
        recipes={"full": LadderRecipe(), "quick": LadderRecipe(values=_QUICK, sweep_n=100)},
        claims=CAPACITY_CLAIMS,
        share=3.2,
    ),
)
_QUICK_MODES = _QUICK | {"train.probe_n": 60, "train.checkpoint_every": 4}


def _modes_run(name: str, label: str, preset: str, pack: int = 1, share: float = 1.0) -> Stage:
    """A GAN on the stacked digits: its modes of 1,000 at the recipe's fixed steps."""
    recipes = {"full": ModesRecipe(preset), "quick": ModesRecipe(preset, _QUICK_MODES, n=200)}
    return Stage(
        name,
        f"{label} on Stacked MNIST: modes reached of 1,000",
        SECTION,
        stacked_stage(preset, label, pack),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes=recipes,
        claims=(reaches_all(name, label),),
        datasets=(STACKED,),
        share=share,
    )


STAGES += (
    _modes_run("gan-stacked-dcgan", "DCGAN (plain)", "dcgan", share=2.0),
    _modes_run("gan-stacked-pack2", "PacDCGAN2 (DCGAN, packing 2)", "dcgan", pack=2, share=2.0),
    _modes_run("gan-stacked-fast", "GAN (fast, 200 clusters)", "fast"),
    Stage(
        "gan-stacked-packing",
        "does packing the discriminator help? The plain and the packed DCGAN compared",
        SECTION,
        packing_stage("gan-stacked-dcgan", "gan-stacked-pack2", 2),
        after=("gan-stacked-dcgan", "gan-stacked-pack2"),
        claims=(PACKING_CLAIM,),
        datasets=(STACKED,),
    ),
)
SUBSTUDIES = (
    SubStudy(
        "compare-losses",
        "the same GAN trained with bce, wgan and wgan-gp for the same steps, compared",
        (*LOSS_RUNS, "gan-losses"),
    ),
    SubStudy(
        "gan-capacity",
        "a ladder of generators, from one too weak for its discriminator to the fast one: collapse vs capacity",
        ("gan-capacity",),
        group="sweep",
    ),
)
