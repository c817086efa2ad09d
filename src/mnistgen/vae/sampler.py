"""Loading a trained VAE run: its config, the model of its best checkpoint, and a sampler of the decoder alone."""

from __future__ import annotations

from pathlib import Path

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state
from mnistgen.family import Sampler
from mnistgen.layers import initialise
from mnistgen.runs import load_run_config
from mnistgen.vae.config import KIND, VAEModelConfig, VAERunConfig
from mnistgen.vae.model import VAE


def build_model(cfg: VAEModelConfig) -> VAE:
    vae = VAE(cfg.arch, cfg.latent_dim, cfg.channels, cfg.hidden, cfg.prior_components, cfg.image_channels)
    return initialise(vae, cfg.init)


def load_config(run_dir: str | Path) -> tuple[VAERunConfig, str]:
    """The resolved config and preset name saved in a VAE run directory."""
    return load_run_config(run_dir, KIND, VAERunConfig)


def load_model(
    run_dir: str | Path, device: torch.device | str = "cpu", which: str = "best"
) -> tuple[VAE, VAERunConfig]:
    """The VAE from ``checkpoint_best.pt`` (falling back to the last one) in eval mode."""
    run_dir = Path(run_dir)
    cfg, _ = load_config(run_dir)
    path = run_dir / (rundir.BEST if which == "best" else rundir.LAST)
    if which == "best" and not path.exists():
        path = run_dir / rundir.LAST
    saved = load_checkpoint(path, KIND)
    model = build_model(cfg.model)
    load_module_state(model, saved["models"]["vae"], "VAE")
    return model.to(device).eval(), cfg


def sampler_of(model: VAE) -> Sampler:
    """The decoder alone: z ~ N(0, I) or the fitted mixture prior, drawn with ``gen`` on the CPU, decoded to pixel
    means in [0, 1]."""

    @torch.no_grad()
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        return model.sample(n, gen).float().cpu()

    return sample


def load_sampler(run_dir: Path, device: torch.device) -> Sampler:
    """The sampler of a run's best checkpoint."""
    return sampler_of(load_model(run_dir, device)[0])
