"""Captions of the study's figures, computed from the data they describe (pure functions, tested on contrary data)."""

from __future__ import annotations

from typing import Any


def sampling_note(hist: dict | None) -> str:
    """How the VAE's samples were drawn: from N(0, I), or from the mixture prior fitted to the codes."""
    prior = (hist or {}).get("prior")
    if not prior or not prior.get("log_likelihood"):
        return "decoded by the decoder alone from 100 random z ~ N(0, I)."
    return (f"decoded by the decoder alone from 100 random codes of the ex-post prior: a mixture of {prior['components']} "
            f"full-covariance Gaussians fitted by EM to the encoder's codes of {prior['codes']:,} training images "
            f"({prior['seconds']:.0f} s). Each code is z = μ_k + L_k ε with ε ~ N(0, I): unlike N(0, I) it does not land in the "
            "holes between the encoder's digit clusters, where one-stage samples blend two digits.")


def code_caption(model: dict[str, Any]) -> str:
    """What the fast GAN's categorical code is: k-means clusters of the data, or a free InfoGAN code."""
    if model.get("code") == "clusters":
        return (f"The fast DCGAN's code: {model.get('categories')} k-means clusters of the training images (on their top "
                "50 principal components; no labels used). The generator is given a cluster and the discriminator is "
                "conditioned on it, so each cluster is a simpler distribution to learn. One row per cluster (the first 10), "
                "the same noise z in each column. Notice each row holds mostly one digit in one style, while z varies the "
                "stroke; samples draw the cluster with its frequency in the data, so the classes stay balanced.")
    return ("The fast DCGAN's categorical latent code (InfoGAN, learnt without labels): one row per code value, the "
            "same noise z in each column. Notice most rows hold a single digit class: the generator splits its "
            "samples into separate modes instead of smearing one Gaussian across the gaps between digits.")


def kl_caption(hist: dict) -> str:
    val = hist.get("val_kl") or []
    if len(val) < 2:
        return "KL term per epoch (train vs validation)."
    trend = "rises" if val[-1] > val[0] else "falls"
    return (f"KL term per epoch, train vs validation. Notice that the KL term {trend} during training "
            f"({val[0]:.1f} → {val[-1]:.1f} nats): as the decoder learns to use the latent code, the encoder moves the "
            "posteriors away from the prior to carry more information, trading KL for a much lower reconstruction loss "
            "(the original study saw the same increase).")


def loss_caption(hist: dict) -> str:
    best = hist.get("best_epoch")
    n = len(hist.get("val_loss") or [])
    tail = f" The best validation epoch is {best} of {n}; early stopping (patience 4) keeps that model." if best else ""
    return "Combined loss (reconstruction + KL) per epoch, train vs validation, best epoch marked." + tail
