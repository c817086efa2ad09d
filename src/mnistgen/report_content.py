"""What the study report says: sections, tables, figures and captions that tell the reader what to notice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _done(state: dict, name: str) -> dict | None:
    stage = state.get("stages", {}).get(name, {})
    return stage.get("result") if stage.get("status") == "done" else None


def _history(out: Path, run: str) -> dict:
    path = out / run / "history.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _pm(mean: Any, std: Any) -> str:
    return "–" if mean is None else f"{mean:.2f} ± {std:.2f}"


def _fig(out: Path, rel: str, caption: str) -> list[tuple]:
    path = out / rel
    return [("fig", path, caption)] if path.is_file() else []


def _metrics_row(name: str, m: dict, original: str = "") -> list[Any]:
    return [name, original, _pm(m.get("is_500_mean"), m.get("is_500_std")), _pm(m.get("is_mean"), m.get("is_std")), m.get("n"),
            m.get("fid"), m.get("kid_mean"), m.get("precision"), m.get("recall"), m.get("modes"), m.get("class_kl"),
            None if m.get("train_seconds") is None else round(m["train_seconds"])]


HEADERS = ["samples", "original IS (n)", "IS, n = 500", "IS, n = N", "N", "FID", "KID", "precision", "recall", "modes ≥ 1 %",
           "class-KL", "train s"]


def _sampling_note(hist: dict | None) -> str:
    """How the VAE's samples were drawn: from N(0, I), or from the mixture prior fitted to the codes."""
    prior = (hist or {}).get("prior")
    if not prior or not prior.get("log_likelihood"):
        return "decoded by the decoder alone from 100 random z ~ N(0, I)."
    return (f"decoded by the decoder alone from 100 random codes of the ex-post prior: a mixture of {prior['components']} "
            f"full-covariance Gaussians fitted by EM to the encoder's codes of {prior['codes']:,} training images "
            f"({prior['seconds']:.0f} s). Each code is z = μ_k + L_k ε with ε ~ N(0, I): unlike N(0, I) it does not land in the "
            "holes between the encoder's digit clusters, where one-stage samples blend two digits.")


def _code_caption(run: Path) -> str:
    """What the fast GAN's categorical code is: k-means clusters of the data, or a free InfoGAN code."""
    try:
        model = json.loads((run / "config.json").read_text())["config"]["model"]
    except (OSError, ValueError, KeyError, TypeError):
        model = {}
    if model.get("code") == "clusters":
        return (f"The fast DCGAN's code: {model.get('categories')} k-means clusters of the training images (on their top "
                "50 principal components; no labels used). The generator is given a cluster and the discriminator is "
                "conditioned on it, so each cluster is a simpler distribution to learn. One row per cluster (the first 10), "
                "the same noise z in each column. Notice each row holds mostly one digit in one style, while z varies the "
                "stroke; samples draw the cluster with its frequency in the data, so the classes stay balanced.")
    return ("The fast DCGAN's categorical latent code (InfoGAN, learnt without labels): one row per code value, the "
            "same noise z in each column. Notice most rows hold a single digit class: the generator splits its "
            "samples into separate modes instead of smearing one Gaussian across the gaps between digits.")


def _kl_caption(hist: dict) -> str:
    val = hist.get("val_kl") or []
    if len(val) < 2:
        return "KL term per epoch (train vs validation)."
    trend = "rises" if val[-1] > val[0] else "falls"
    return (f"KL term per epoch, train vs validation. Notice that the KL term {trend} during training "
            f"({val[0]:.1f} → {val[-1]:.1f} nats): as the decoder learns to use the latent code, the encoder moves the "
            "posteriors away from the prior to carry more information, trading KL for a much lower reconstruction loss "
            "(the original study saw the same increase).")


def _loss_caption(hist: dict) -> str:
    best = hist.get("best_epoch")
    n = len(hist.get("val_loss") or [])
    tail = f" The best validation epoch is {best} of {n}; early stopping (patience 4) keeps that model." if best else ""
    return "Combined loss (reconstruction + KL) per epoch, train vs validation, best epoch marked." + tail


def build_blocks(out: Path, state: dict, metrics: dict, original: dict) -> list[tuple]:
    env = state.get("environment", {})
    blocks: list[tuple] = [
        ("h1", "mnistgen study report"),
        ("p", f"Dataset **{state.get('dataset', 'mnist')}** ({state.get('data_info', {}).get('source', '?')}), profile "
              f"**{state.get('profile')}**, seed {state.get('seed')}, device {env.get('device', '?')}, total wall time "
              f"{state.get('wall_seconds', 0) / 60:.1f} min. Every model is scored on N = {state.get('n')} samples with an "
              "MNIST classifier in place of InceptionV3 (IS; maximum 10) and in its penultimate-layer feature space "
              "(FID, KID against the test split; precision/recall with k = 3 nearest-neighbour manifolds)."),
        ("h2", "1. Quantitative comparison"),
        ("p", "The original study's table (Inception Score mean ± std over 10 splits) beside ours. IS falls with fewer "
              "samples per split, so it is given both at the original's n = 500 and at N. Lower FID/KID and class-KL are "
              "better; precision is sample fidelity, recall is coverage of the real data."),
    ]
    rows = []
    pairs = [("real", "real MNIST", original["real"]), ("vae-conv", "VAE (conv)", original["vae"]),
             ("vae-seed", "VAE (seed)", original["vae"]), ("gan-fast-bce", "GAN (fast, cross-entropy)", original["gan"]),
             ("gan-seed-bce", "GAN (seed)", original["gan"])]
    for key, label, orig in pairs:
        if key in metrics:
            rows.append(_metrics_row(label, metrics[key], f"{orig['is_mean']:.2f} ± {orig['is_std']:.2f} ({orig['n']:,})"))
    blocks.append(("table", HEADERS, rows))
    others = [k for k in metrics if k not in {p[0] for p in pairs}]
    if others:
        blocks += [("h3", "Every other scored model"), ("table", HEADERS, [_metrics_row(k, metrics[k]) for k in others])]
    blocks += _fig(out, "figures/comparison.png",
                   "Qualitative comparison: a row of real digits, a row of VAE samples, a row of GAN samples (first samples "
                   "drawn, not cherry-picked). Notice how the VAE's digits are smoother and blurrier than the GAN's.")

    blocks.append(("h2", "2. Variational autoencoder"))
    seed_hist = _history(out, "vae-seed")
    blocks += _fig(out, "vae-seed/figures/kl.png", "Seed VAE (LSTM encoder, tiny decoder). " + _kl_caption(seed_hist))
    blocks += _fig(out, "vae-seed/figures/loss.png", "Seed VAE. " + _loss_caption(seed_hist))
    blocks += _fig(out, "vae-seed-2d/figures/latent_map.png",
                   "Latent map of the 2-D seed VAE: test-set posterior means coloured by digit. Notice the overlap between "
                   "classes such as 4/9 and 3/5/8 — a 2-D code cannot separate them cleanly, as the original study found.")
    blocks += _fig(out, "vae-seed/figures/samples.png",
                   "100 digits from the seed VAE's tiny decoder (the table's few thousand weights), "
                   + _sampling_note(seed_hist) + " Notice the strokes stay thin and prototypical: the decoder is too small "
                   "for the variety of real handwriting.")
    conv_hist = _history(out, "vae-conv")
    blocks += _fig(out, "vae-conv/figures/samples.png",
                   "100 digits from the strong convolutional VAE, " + _sampling_note(conv_hist)
                   + " Notice they are sharper and more varied than the seed decoder's.")
    blocks += _fig(out, "vae-conv/figures/samples_normal.png",
                   "The same decoder on 100 codes z ~ N(0, I), the original study's recipe, for comparison. Notice the "
                   "ambiguous, blended digits: codes from the plain prior often fall between the regions the encoder "
                   "uses, which is what the fitted mixture prior avoids.")
    blocks += _fig(out, "vae-conv/figures/loss.png", "Conv VAE. " + _loss_caption(conv_hist))
    blocks += _fig(out, "vae-conv/figures/kl.png", "Conv VAE. " + _kl_caption(conv_hist))
    blocks += _fig(out, "vae-conv/figures/reconstructions.png", "Conv VAE reconstructions: inputs (top) vs outputs (bottom).")

    blocks.append(("h2", "3. GAN"))
    blocks += _fig(out, "gan-fast-bce/figures/samples.png",
                   "100 samples of the fast DCGAN trained with cross-entropy (EMA generator). Notice all ten digits appear.")
    blocks += _fig(out, "gan-fast-bce/figures/codes.png", _code_caption(out / "gan-fast-bce"))
    blocks += _fig(out, "gan-seed-bce/figures/samples.png",
                   "100 samples of the study's seed DCGAN after its short CPU budget: it trains ~0.6 steps/s, so it is far "
                   "from converged — the reason the fast preset exists.")
    blocks += _table_and_figures(out, _done(state, "gan-losses"), "Cross-entropy vs Wasserstein")
    blocks += _table_and_figures(out, _done(state, "gan-capacity"), "Generator capacity vs performance (mode collapse)")

    blocks += [("h2", "4. Environment and timings"), ("table", ["what", "value"], [[k, v] for k, v in env.items()]),
               ("table", ["stage", "status", "budget min", "wall s", "note"],
                [[name, s.get("status"), round(s.get("budget_minutes", 0) or 0, 2), round(s.get("seconds", 0) or 0, 1),
                  s.get("error") or s.get("reason") or ""] for name, s in state.get("stages", {}).items()])]
    return blocks


def _table_and_figures(out: Path, result: dict | None, heading: str) -> list[tuple]:
    """A sub-study's section: its heading, its table and its captioned figures (nothing if it did not run)."""
    if not result:
        return []
    blocks: list[tuple] = [("h3", heading)]
    table = result.get("table")
    if table:
        blocks.append(("table", table["headers"], table["rows"]))
    for rel, caption in result.get("figures", []):
        blocks += _fig(out, rel, caption)
    return blocks
