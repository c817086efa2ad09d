"""The GAN's part of the mode-collapse benchmark (``mnistgen modes``, Stacked MNIST's 1,000 modes): a plain DCGAN,
the same DCGAN whose discriminator judges two samples at once (PacGAN's packing), and the fast GAN; whether packing
helps, by how much, and the modes they reach as they train."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo
from mnistgen.gan.config import configure
from mnistgen.gan.training import train
from mnistgen.plotting import plt, save_figure
from mnistgen.stacked import MODES
from mnistgen.stagekit import Claim, Context, ModeScores, Phenomenon, StageFn, StageResult, result_type
from mnistgen.stagekit.modes import modes_count, modes_result


def stacked_stage(preset: str, label: str, pack: int = 1) -> StageFn:
    """Train ``preset`` (packing ``pack`` samples per discriminator decision) on the stacked digits, score its modes."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        cfg = ctx.configure(configure(preset, pack=pack))
        trained = ctx.train(train, cfg, ctx.stage.name, preset, probe=ctx.probe())
        return modes_result(ctx, trained, "gan", label)

    return run


@result_type
@dataclass(frozen=True)
class PackingGain(Phenomenon):
    """The packed DCGAN against the plain one: the modes each reaches and their KL from uniform."""

    plain_modes: int
    packed_modes: int
    plain_kl: float
    packed_kl: float
    pack: int


CLAIM = Claim(
    "packing_helps",
    PackingGain,
    lambda i: f"packing the discriminator reaches more of the {MODES:,} modes than the plain DCGAN, at a lower KL",
    lambda p: p.packed_modes > p.plain_modes and p.packed_kl < p.plain_kl,
    lambda p, i: f"modes {p.plain_modes:,} → {p.packed_modes:,}, KL {p.plain_kl:.3f} → {p.packed_kl:.3f}",
)


def packing_words(p: PackingGain) -> str:
    """Whether packing helped, and by how much, from the numbers."""
    more, lower = p.packed_modes - p.plain_modes, p.plain_kl - p.packed_kl
    if more == 0 and abs(lower) < 5e-4:
        verdict = "packing makes no difference here"
    elif more > 0 and lower > 0:
        verdict = f"packing helps here: {more:,} more modes and a KL lower by {lower:.3f}"
    elif more < 0 and lower < 0:
        verdict = f"packing does not help here: {-more:,} fewer modes and a KL higher by {-lower:.3f}"
    else:
        verdict = f"packing is mixed here: {more:+,} modes, KL {-lower:+.3f}"
    return (
        f"The plain DCGAN reaches {modes_count(p.plain_modes)} (KL {p.plain_kl:.3f}), the same DCGAN with its "
        f"discriminator judging {p.pack} samples at once {modes_count(p.packed_modes)} (KL {p.packed_kl:.3f}): "
        f"{verdict}."
    )


def plot_modes_by_step(hists: Mapping[str, dict], path: Any, info: DatasetInfo) -> Any:
    """Modes reached by the probes' samples against generator steps, one line per run."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, hist in hists.items():
        probes = hist.get("probe", [])
        ax.plot([p["step"] for p in probes], [p["modes"] for p in probes], "o-", label=label)
    n = next((h["probe"][-1]["n"] for h in hists.values() if h.get("probe")), 0)
    ax.axhline(MODES, color="gray", ls=":", label=f"all {MODES:,} modes")
    ax.set(
        xlabel="generator steps",
        ylabel=f"modes reached by {n:,} samples",
        title=f"{info.title}: modes reached while training",
        ylim=(0, MODES * 1.05),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def packing_stage(plain: str, packed: str, pack: int) -> StageFn:
    """Compare the ``plain`` DCGAN stage with the ``packed`` one: the phenomenon, its words and the modes-by-step
    figure of both."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        models = {name: deps[name].model for name in (plain, packed) if name in deps}
        scores = {name: m.scores for name, m in models.items() if m is not None and isinstance(m.scores, ModeScores)}
        if len(scores) < 2:
            return StageResult(note="the plain or the packed DCGAN did not finish: nothing to compare")
        a, b = scores[plain], scores[packed]
        gain = PackingGain(a.modes, b.modes, a.kl, b.kl, pack)
        hists = {
            m.label: rundir.read_json(ctx.out / m.run_dir / rundir.HISTORY)
            for m in models.values()
            if m is not None and m.run_dir is not None
        }
        path = plot_modes_by_step(hists, ctx.out / "figures" / "modes-by-step.png", ctx.info)
        probes = next((h["probe"][-1]["n"] for h in hists.values() if h.get("probe")), 0)
        how = (
            f"Modes reached by {probes:,} samples of the plain and the packed DCGAN while they trained (the final "
            f"counts here: {a.n:,} samples). "
        )
        return StageResult((ctx.fig(path, how + packing_words(gain), "PackingGain"),), phenomena=(gain,))

    return run
