"""The study's GAN sub-studies, at fixed work: cross-entropy vs Wasserstein losses at equal generator steps and
images, and generator capacity vs mode collapse. ``mnistgen compare-losses`` and ``mnistgen sweep
gan-capacity`` run them on their own; the study runs their trainings as stages and compares the results here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from mnistgen import gan, rundir
from mnistgen.config import apply_overrides
from mnistgen.datasets import DatasetInfo
from mnistgen.errors import MnistgenError
from mnistgen.family import draw
from mnistgen.metrics import Evaluator, precision_recall, prob_scores
from mnistgen.study import captions
from mnistgen.study.figures import plot_capacity, save_collapse_grid, save_loss_grids

def _detrended_std(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Standard deviation of ``y`` about its least-squares line in ``x`` (None below 3 points)."""
    if len(y) < 3:
        return None
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(xa, ya, 1)
    return float(np.std(ya - (slope * xa + intercept)))


def gan_work(run: Path) -> dict[str, int]:
    """A GAN run's work so far: generator steps, its batch and critic steps per generator step, the images it generated
    (steps x batch) and the real images its critic saw (x critic steps)."""
    batch, n_critic = gan.load_config(run)[0].train.batch_size, rundir.read_json(run / rundir.METADATA)["hyper"]["n_critic"]
    steps = (rundir.read_json(run / rundir.HISTORY)["step"] or [0])[-1]
    return {"steps": steps, "batch": batch, "n_critic": n_critic, "images": steps * batch, "real_images": steps * batch * n_critic}


def summarize(hist: dict, batch: int, n_critic: int, targets: tuple[float, ...] = (8.0, 9.0)) -> dict[str, Any]:
    """Convergence (generator steps and images until the probe IS first reaches each of ``targets``) and stability
    (spread of the probe IS and of the losses over the last third of the steps) of one GAN run."""
    probes, steps = hist.get("probe", []), (hist["step"][-1] if hist["step"] else 0)
    late = [p for p in probes if p["step"] >= 2 * steps / 3] or probes[-1:]
    third = max(1, len(hist["step"]) // 3)
    d_late, g_late = np.asarray(hist["d_loss"][-third:], float), np.asarray(hist["g_loss"][-third:], float)
    reach = [next((p["step"] for p in probes if p["is"] >= t), None) for t in targets]
    last = probes[-1] if probes else {}
    return {
        "loss": hist.get("loss"), "steps": steps, "images": steps * batch, "real_images": steps * batch * n_critic,
        "targets": list(targets), "steps_to": reach, "images_to": [r and r * batch for r in reach],
        "final_is": last.get("is"), "best_is": max((p["is"] for p in probes), default=None), "final_modes": last.get("modes"),
        "final_class_kl": last.get("class_kl"), "probe_n": last.get("n"),
        "is_std": float(np.std([p["is"] for p in late])) if late else None,
        "is_wobble": _detrended_std([p["step"] for p in late], [p["is"] for p in late]),
        "d_std": float(d_late.std()) if len(d_late) else None, "g_std": float(g_late.std()) if len(g_late) else None,
        "d_jitter": float(np.abs(np.diff(d_late)).mean()) if len(d_late) > 1 else None,
    }


LOSS_HEADERS = ["loss", "lr G / D, critic steps", "G steps", "images (G)", "real images (D)", "steps to IS {0:g}",
                "steps to IS {1:g}", "final IS", "best IS", "modes", "IS std (last ⅓)", "IS std about trend", "D-loss std",
                "G-loss std"]
_BEFORE, _AFTER = ["loss", "recipe", "steps", "images", "real_images"], ["final_is", "best_is", "final_modes", "is_std", "is_wobble",
                                                                          "d_std", "g_std"]


def _loss_table(rows: list[dict], targets: tuple[float, ...]) -> dict[str, list]:
    """One row per loss: its work, the steps to each target IS, then final quality and stability."""
    return {"headers": [h.format(*targets) for h in LOSS_HEADERS],
            "rows": [[r.get(k) for k in _BEFORE] + list(r["steps_to"]) + [r.get(k) for k in _AFTER] for r in rows]}


def loss_comparison(runs: dict[str, Path], out: Path, title: str, targets: tuple[float, ...] = (8.0, 9.0)) -> dict[str, Any]:
    """Finished runs of one model trained with different losses (``{loss: run_dir}``): the table, figures and captions."""
    if len(runs) < 2:
        raise MnistgenError("fewer than two of the loss runs finished: nothing to compare")
    hists, rows = {}, []
    for loss, run in runs.items():
        hists[loss], work = rundir.read_json(run / rundir.HISTORY), gan_work(run)
        hp = rundir.read_json(run / rundir.METADATA)["hyper"]
        rows.append(summarize(hists[loss], work["batch"], work["n_critic"], targets)
                    | {"recipe": f"{hp['optimizer']} {hp['lr_g']:g} / {hp['lr_d']:g}, {hp['n_critic']}"})
    if len({r["steps"] for r in rows}) > 1:
        raise MnistgenError("the loss runs trained different numbers of generator steps; compare them at equal work")
    out.mkdir(parents=True, exist_ok=True)
    n = rows[0].get("probe_n")
    figures = [
        (gan.plot_losses(hists, out / "losses.png", f"GAN losses by loss type ({title})"),
         "Discriminator/critic and generator losses per generator step (moving average), one panel per loss; the "
         "Wasserstein panels also show the critic's estimate of the Wasserstein distance. The losses are on different "
         "scales: compare how each settles, not their values."),
        (gan.plot_quality(hists, out / "quality.png", f"Sample quality during training ({title})", targets),
         f"Probe Inception Score (n = {n}) and classes covered against generator steps, every loss over the same "
         f"{rows[0]['steps']:,} steps. " + captions.loss_comparison_caption(rows)),
        (save_loss_grids(runs, out / "samples.png", f"Final samples by loss ({title})"),
         "Final samples of each loss's run (EMA generator), after the same number of generator steps."),
    ]
    table = _loss_table(rows, targets)
    return {"rows": rows, "table": table, "probe_n": n, "figures": [(str(p), c) for p, c in figures],
            "caption": captions.loss_comparison_caption(rows)}


# The capacity ladder, weakest generator first: the `tiny` MLP against the seed discriminator (the original's
# too-weak generator), then the `small` preset (latent 1, channels 16-8-4, no cluster code) and two wider variants of it
# against the fast preset's discriminator; the top rung is the loss comparison's cross-entropy run (the `fast` preset:
# latent 32, channels 128-64-32, 200 cluster codes). label -> (preset, overrides, the discriminator it faces).
LADDER = {
    "MLP 128 vs seed D": ("tiny", (), "seed discriminator"),
    "z 1, 16-8-4": ("small", (), "fast discriminator"),
    "z 2, 32-16-8": ("small", ("model.z_dim=2", "model.g_channels=32,16,8"), "fast discriminator"),
    "z 8, 64-32-16": ("small", ("model.z_dim=8", "model.g_channels=64,32,16"), "fast discriminator"),
}


def ladder_config(rung: str) -> gan.GANRunConfig:
    """The run config of a rung of the ladder (see LADDER)."""
    preset, overrides, _ = LADDER[rung]
    return apply_overrides(gan.configure(preset), list(overrides))


def rung_cap_shares() -> dict[str, float]:
    """How the rungs split the capacity stage's share of an optional ``--minutes`` cap: in proportion to the images
    each generates (steps x batch), a rough guide to their training time (MLP rung ~77 s, small ones ~20 s here)."""
    trains = {rung: ladder_config(rung).train for rung in LADDER}
    costs = {rung: t.steps * t.batch_size for rung, t in trains.items()}
    return {rung: cost / sum(costs.values()) for rung, cost in costs.items()}


def class_scores(probs: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """IS, modes, class histogram and the share of samples in the top class at confidence >= 0.9, from the evaluator's
    class probabilities (N, 10) of N samples."""
    s = prob_scores(probs, seed=seed)
    top = int(np.argmax(s["class_histogram"]))
    confident = float(((probs.argmax(1) == top) & (probs.max(1).values >= captions.COLLAPSE_CONFIDENCE)).float().mean())
    return {"is": s["is"], "modes": s["modes"], "class_kl": s["class_kl"], "class_histogram": s["class_histogram"],
            "max_prob": s["max_prob"], "top_class": top, "top_confident_share": confident, "n": len(probs)}


@torch.no_grad()
def sweep_row(run: Path, rung: str, evaluator: Evaluator, n: int, discriminator: str) -> dict[str, Any]:
    """A ladder rung's row: parameters, steps, and the class scores and precision/recall of ``n`` of its samples."""
    g, d = gan.build(gan.load_config(run)[0].model)
    steps = rundir.read_json(run / rundir.HISTORY)["step"][-1]
    probs, features = evaluator.probs_and_features(draw(gan.load_sampler(run, torch.device("cpu")), n, 0))
    precision, recall = precision_recall(evaluator.reference.features, features, k=3, real_radii=evaluator.reference.radii(3))
    return {"width": rung, "discriminator": discriminator, "g_params": gan.count_params(g), "d_params": gan.count_params(d),
            "steps": steps, "run_dir": str(run), "precision": precision, "recall": recall} | class_scores(probs)


CAPACITY_HEADERS = ["generator", "G params", "D params", "G steps", "IS (n = {n})", "modes ≥ 1 %", "class-KL",
                    "top class share", "top class at confidence ≥ 0.9", "precision", "recall"]


def capacity_result(rows: list[dict], out: Path, info: DatasetInfo) -> dict[str, Any]:
    """The ladder's table, its figures and captions, from the scored rows (weakest first; each names the discriminator
    it faced): the first is the too-weak one (a fully connected MLP: more weights than the small conv generators,
    but no spatial structure), the last the most complex."""
    table = {"headers": [h.format(n=rows[-1]["n"]) for h in CAPACITY_HEADERS],
             "rows": [[r["width"], r["g_params"], r["d_params"], r["steps"], r["is"], r["modes"], r["class_kl"], max(r["class_histogram"]),
                       r["top_confident_share"], r["precision"], r["recall"]] for r in rows]}
    figures = [
        (plot_capacity(rows, out / "capacity.png", f"{info.title}: generator capacity vs quality"),
         captions.capacity_caption(rows, info)),
        (save_collapse_grid(Path(rows[0]["run_dir"]), Path(rows[-1]["run_dir"]), out / "collapse.png", info,
                            (rows[0]["width"], rows[-1]["width"])),
         captions.collapse_caption(rows[0], info, rows[0]["discriminator"])),
    ]
    return {"rows": rows, "table": table, "figures": [(str(p), c) for p, c in figures]}


@torch.no_grad()
def code_purity(run: Path, evaluator: Evaluator, rows: int = 10, per_row: int = 20) -> float | None:
    """Mean share of the most common class among ``per_row`` samples of each of the first ``rows`` codes (None without codes)."""
    g, cfg = gan.load_generator(run)
    if not g.categories:
        return None
    codes = torch.arange(min(rows, g.categories)).repeat_interleave(per_row)
    z = g.sample_latent(len(codes), torch.Generator().manual_seed(0), codes=codes)
    labels = evaluator.probs(gan.generate(g, z, cfg.model)).argmax(1).reshape(-1, per_row)
    return float(np.mean([np.bincount(r.numpy(), minlength=10).max() / per_row for r in labels]))
