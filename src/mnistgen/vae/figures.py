"""VAE figures: KL and combined-loss curves, reconstructions, prior samples, the latent map.

``make_figures(run_dir)`` rebuilds them all from ``history.json``, the best checkpoint and the test set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo, describe
from mnistgen.errors import MnistgenError
from mnistgen.images import Splits, load_splits
from mnistgen.plotting import plt, save_figure, save_grid, save_rows
from mnistgen.vae.model import VAE
from mnistgen.vae.sampler import load_config, load_model

FILES = {
    "kl": "kl.png",
    "loss": "loss.png",
    "recon": "reconstructions.png",
    "samples": "samples.png",
    "latent": "latent_map.png",
    "samples_normal": "samples_normal.png",
}


def plot_kl(history: dict, path: Path, title: str = "VAE: KL term per epoch") -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["epoch"], history["train_kl"], "o-", label="train")
    ax.plot(history["epoch"], history["val_kl"], "s--", label="validation")
    ax.set(title=title, xlabel="epoch", ylabel="KL(q(z|x) || N(0, I)) [nats / image]")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_loss(history: dict, path: Path, title: str = "VAE: combined loss per epoch") -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax.plot(history["epoch"], history["val_loss"], "s--", label="validation")
    best = history.get("best_epoch") or 0
    if best in history["epoch"]:
        value = history["val_loss"][history["epoch"].index(best)]
        ax.axvline(best, color="gray", lw=0.8, ls=":")
        ax.plot([best], [value], "*", color="red", ms=14, label=f"best epoch {best} (val {value:.2f})")
        done = history.get("decoder")
        if done and done["kept"]:  # the best epoch's model after its decoder was trained alone (vae/refine.py)
            ax.plot(
                [best],
                [done["val_loss_after"]],
                "D",
                color="green",
                ms=8,
                label=f"its decoder refined alone (val {done['val_loss_after']:.2f})",
            )
    ax.set(title=title, xlabel="epoch", ylabel="reconstruction BCE + beta * KL [nats / image]")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def knn_predictions(points: np.ndarray, labels: np.ndarray, k: int = 5) -> np.ndarray:
    """Leave-one-out k-NN predictions of ``labels`` from ``points`` (N, d)."""
    nearest = (
        NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)[:, 1:]
    )  # (N, k), self dropped
    return np.stack([np.bincount(labels[row], minlength=10) for row in nearest]).argmax(1)  # (N,)


def map_stats(xy: np.ndarray, mu: np.ndarray, labels: np.ndarray, k: int = 5) -> dict:
    """How well a latent map separates the classes: k-NN accuracy on the map and in all dimensions, each class's
    overlap with the others (the share of its points whose k nearest neighbours mostly belong to another class) and
    their mean, the three most confused class pairs, and the map's extent along each axis (1st to 99th percentile)."""
    pred = knn_predictions(xy, labels, k)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, pred), 1)
    sym = np.triu(confusion + confusion.T, 1)
    pairs = [
        (int(a), int(b), int(sym[a, b])) for a, b in zip(*np.unravel_index(np.argsort(sym, None)[::-1][:3], sym.shape))
    ]
    full = pred if xy is mu else knn_predictions(mu, labels, k)  # a 2-D latent is its own map
    overlap = [float((pred[labels == c] != c).mean()) if (labels == c).any() else 0.0 for c in range(10)]
    return {
        "class_overlap": overlap,
        "mean_overlap": float(np.mean(overlap)),
        "knn_accuracy": float((pred == labels).mean()),
        "knn_accuracy_full": float((full == labels).mean()),
        "k": k,
        "n": len(labels),
        "dims": int(mu.shape[1]),
        "confused_pairs": [p for p in pairs if p[2] > 0],
        "extent": [float(np.percentile(xy[:, a], 99) - np.percentile(xy[:, a], 1)) for a in (0, 1)],
    }


@torch.no_grad()
def plot_latent_map(
    model, images: torch.Tensor, labels: torch.Tensor, info: DatasetInfo, path: Path
) -> tuple[Path, dict]:
    """Scatter the posterior means of ``images``, coloured by class (PCA to 2-D when d > 2); also returns the map's
    statistics: k-NN (k = 5) accuracy of the classes on the map, and its extent along each axis."""
    mu = model.posterior_means(images).cpu().numpy()
    classes = labels.numpy()
    if mu.shape[1] > 2:
        pca = PCA(n_components=2, random_state=0)
        xy = pca.fit_transform(mu)
        ev = pca.explained_variance_ratio_
        axes = (f"PC 1 of μ ({ev[0]:.0%} of variance)", f"PC 2 of μ ({ev[1]:.0%} of variance)")
        how = f"PCA of the {mu.shape[1]}-D posterior means"
    else:
        xy = mu if mu.shape[1] == 2 else np.concatenate([mu, np.zeros_like(mu)], 1)
        axes, how = ("μ 1", "μ 2" if mu.shape[1] == 2 else "(none: 1-D latent)"), "posterior means μ"
    stats = map_stats(xy, mu, classes)
    fig, ax = plt.subplots(figsize=(7.4, 6))
    cmap = plt.get_cmap("tab10")
    for k in range(10):
        sel = classes == k
        ax.scatter(xy[sel, 0], xy[sel, 1], s=3, alpha=0.5, color=cmap(k), label=info.classes[k], rasterized=True)
    ax.set(
        title=f"VAE latent map: {how} of {len(classes):,} {info.title} test images\n"
        f"5-NN accuracy of the classes on this map: {stats['knn_accuracy']:.1%}",
        xlabel=axes[0],
        ylabel=axes[1],
    )
    ax.legend(title=info.item, markerscale=4, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save_figure(fig, path), stats


def _splits_for(run_dir: Path, cfg, data_dir) -> Splits | None:
    """The run's dataset (data dir given, env/cache, or where training found it); None if unavailable."""
    meta_path = run_dir / rundir.METADATA
    tries = [data_dir]
    if meta_path.exists():
        info = rundir.read_json(meta_path).get("dataset", {})
        if info.get("source") == "data-dir" and info.get("location"):
            tries.append(Path(info["location"]).parent)
    for where in tries:
        try:
            return load_splits(cfg.data, where, download_missing=False)
        except MnistgenError:
            continue
    return None


def make_figures(
    run_dir: str | Path, splits: Splits | None = None, data_dir: str | Path | None = None, model: VAE | None = None
) -> list[Path]:
    """(Re)draw every figure of a VAE run into RUN_DIR/figures/ from history.json, the test set and ``model`` (the
    best weights, still in memory after training) or, without it, the best checkpoint."""
    run_dir = Path(run_dir)
    figures = run_dir / rundir.FIGURES
    figures.mkdir(exist_ok=True)
    written = []
    history = rundir.read_json(run_dir / rundir.HISTORY)
    if history.get("epoch"):
        written += [plot_kl(history, figures / FILES["kl"]), plot_loss(history, figures / FILES["loss"])]
    cfg = load_config(run_dir)[0]
    model = (model if model is not None else load_model(run_dir, "cpu")[0]).float()
    refined = (history.get("decoder") or {}).get("kept")
    best = f"{history.get('best_epoch')}" + (" (decoder refined alone)" if refined else "")
    with torch.no_grad():
        grids = [
            (
                "samples",
                model.sample(100, torch.Generator().manual_seed(0)),  # (100, C, 28, 28)
                f"{model.prior.components}-Gaussian mixture prior" if model.prior is not None else "N(0, I)",
            )
        ]
        if model.prior is not None:  # also the study's original figure: the decoder alone on z ~ N(0, I)
            z = torch.randn(100, model.latent_dim, generator=torch.Generator().manual_seed(0))  # (100, d)
            grids.append(("samples_normal", model.decode(z), "N(0, I)"))
    for key, images, via in grids:
        title = (
            f"VAE {cfg.model.arch}, d={model.latent_dim}, best epoch {best}:\ndecoder alone on 100 random codes ~ {via}"
        )
        written.append(save_grid(images, figures / FILES[key], title))
    splits = splits or _splits_for(run_dir, cfg, data_dir)
    if splits is None:
        print(
            f"warning: dataset {cfg.data.dataset} not found; skipped the reconstruction and latent-map figures "
            "(pass --data-dir)",
            file=sys.stderr,
        )
        return written
    x = splits.test[:12]
    with torch.no_grad():
        recon = model.decode(model.encode(x).mu)  # (12, C, 28, 28)
    written.append(
        save_rows(
            [("input", x), ("output", recon)],
            figures / FILES["recon"],
            "VAE reconstructions of test images (decoder of the posterior mean)",
        )
    )
    info = describe(cfg.data.dataset)
    if info.stacked:  # a map coloured by 1,000 digit triples says nothing
        return written
    path, stats = plot_latent_map(model, splits.test, splits.test_labels, info, figures / FILES["latent"])
    rundir.write_json(figures / "latent_map.json", stats)
    written.append(path)
    return written
