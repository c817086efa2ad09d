"""Flow matching against its number of function evaluations (NFE): quality and drawing time of the trained field
at each NFE (and with the adaptive reference solver), other families' models scored at the sweep's number of samples
for reference, and how the flow model compares with them, in words computed from the numbers."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnistgen.flow.model import VelocityNet
from mnistgen.flow.sampler import draw_counted
from mnistgen.flow.solve import Solver, solver_for
from mnistgen.metrics import Evaluator, evaluate_images
from mnistgen.plotting import plt, save_figure
from mnistgen.stagekit import Scores

NFE = (1, 2, 4, 8, 16)  # and the adaptive reference; 32 drew as 16 does (FID 7.4 vs 7.3), at twice the time


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


@dataclass(frozen=True)
class SweepReference:
    """Another model's FID over as many samples as each point of the NFE sweep, so that the two are comparable."""

    label: str
    n: int
    fid: float


def nfe_rows(
    net: VelocityNet, solver: str, guidance: float, n: int, seed: int, ev: Evaluator, kid_subset: int
) -> list[NfeRow]:
    """Quality and drawing time against NFE (Euler where the run's ``solver`` cannot take that many evaluations),
    then the adaptive dopri5."""
    rows = []
    for how in [solver_for(solver, k) for k in NFE] + [Solver("dopri5", 0)]:
        started = time.perf_counter()
        images, nfe = draw_counted(net, n, seed, how, guidance)
        seconds = (time.perf_counter() - started) * 1000 / n
        s = evaluate_images(images, ev, seed=seed, kid_subset_size=min(kid_subset, n))
        rows.append(NfeRow(how.name, nfe, seconds, s["is_mean"], s["fid"], s["precision"], s["recall"], s["coverage"]))
    return rows


def plot_nfe(rows: Sequence[NfeRow], refs: Sequence[SweepReference], path: Path, title: str) -> Path:
    """FID against NFE (with the reference solver and the other models as lines), and IS / recall / coverage."""
    fixed = [r for r in rows if r.solver != "dopri5"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 4))
    ax1.plot([r.nfe for r in fixed], [r.fid for r in fixed], "o-", label="FID (lower is better)")
    ref = next((r for r in rows if r.solver == "dopri5"), None)
    if ref is not None:
        ax1.axhline(ref.fid, color="tab:blue", ls=":", label=f"dopri5 reference (NFE {ref.nfe})")
    for other, color in zip(refs, ("tab:red", "tab:green", "tab:purple")):
        ax1.axhline(other.fid, color=color, ls="--", label=f"{other.label} (n = {other.n:,})")
    ax1.set(xscale="log", yscale="log", xlabel="function evaluations (NFE)", ylabel="FID", title="fidelity")
    for key, style, name in (("is_mean", "o-", "IS / 10"), ("recall", "s--", "recall"), ("coverage", "^:", "coverage")):
        ax2.plot(
            [r.nfe for r in fixed],
            [getattr(r, key) / (10 if key == "is_mean" else 1) for r in fixed],
            style,
            label=name,
        )
    ax2.set(
        xscale="log", xlabel="function evaluations (NFE)", ylabel="score", ylim=(0, 1.05), title="quality, coverage"
    )
    ticks = [r.nfe for r in fixed]
    for ax in (ax1, ax2):
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def _side(ours: tuple[float, float], theirs: tuple[float, float]) -> str:
    """'ahead of', 'behind' or 'level with' on two scores where higher is better (one of them negated FID)."""
    wins, losses = sum(a > b for a, b in zip(ours, theirs)), sum(a < b for a, b in zip(ours, theirs))
    if wins == 2:
        return "ahead of"
    if losses == 2:
        return "behind"
    return "mixed against (one score better, one worse)" if wins or losses else "level with"


def _sides(verdicts: Mapping[str, str]) -> str:
    """{'VAE (conv)': 'behind', 'GAN (fast)': 'behind'} -> 'behind the VAE (conv) and the GAN (fast)'."""
    groups: dict[str, list[str]] = {}
    for name, verdict in verdicts.items():
        groups.setdefault(verdict, []).append(f"the {name}")
    return "; ".join(f"{verdict} {' and '.join(names)}" for verdict, names in groups.items())


def comparison_words(
    flow_s: Scores, others: Mapping[str, Scores], rows: Sequence[NfeRow], refs: Sequence[SweepReference] = ()
) -> str:
    """How the flow model compares with the other families' models on fidelity (FID, precision) and on coverage of
    the data (recall, coverage), from the numbers, and where on the NFE sweep its FID passes theirs at the same n."""

    def against(key: str, digits: int) -> str:
        mine = f"{getattr(flow_s, key):.{digits}f}"
        return f"{key} {mine} (" + ", ".join(f"{name} {getattr(o, key):.{digits}f}" for name, o in others.items()) + ")"

    fidelity = _sides({n: _side((-flow_s.fid, flow_s.precision), (-o.fid, o.precision)) for n, o in others.items()})
    cover = _sides({n: _side((flow_s.recall, flow_s.coverage), (o.recall, o.coverage)) for n, o in others.items()})
    values = ", ".join(against(k, 2 if k == "fid" else 3) for k in ("fid", "precision", "recall", "coverage"))
    words = (
        f"{values.replace('fid', 'FID', 1)}: on fidelity (FID and precision) it is {fidelity}; on coverage of the "
        f"data (recall and coverage) it is {cover}."
    )
    for ref in refs:
        beats = [r for r in rows if r.solver != "dopri5" and r.fid < ref.fid]
        same = f"the {ref.label}'s at the same n ({ref.n:,} samples: FID {ref.fid:.2f})"
        words += (
            f" On the NFE sweep its FID first falls below {same} at NFE {beats[0].nfe}."
            if beats
            else f" On the NFE sweep its FID stays above {same} at every NFE measured."
        )
    return words
