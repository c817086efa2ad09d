"""What a VAE run does after its joint epochs, on the best epoch's weights: the decoder refined alone
(:mod:`mnistgen.vae.refine`) and the ex-post mixture prior fitted to the codes. Both are stored in
``checkpoint_best.pt`` with their records, which is read once for them; a resumed finished run redoes neither.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state, rewrite_checkpoint
from mnistgen.vae.config import KIND
from mnistgen.vae.model import VAE
from mnistgen.vae.refine import refine_decoder


def finish(loop: Any, noise: Any) -> VAE | None:
    """Refine the decoder and fit the prior as the run's config asks, unless done already; returns the model holding
    the best checkpoint's weights when it read them, else None. ``noise()`` gives the validation noise generator."""
    path = loop.run_dir / rundir.BEST
    best = None
    if not loop.epochs_this_call and path.exists():  # a resumed run with no epoch left: recall what was done
        best = load_checkpoint(path, KIND)
        loop.history |= {
            k: best["state"][k] for k in ("decoder", "prior") if k in best["state"] and k not in loop.history
        }
    refine = loop.cfg.train.decoder_epochs and (loop.epochs_this_call or "decoder" not in loop.history)
    prior = loop.model.prior is not None and (loop.epochs_this_call or "prior" not in loop.history)
    if not (refine or prior):
        return None
    best = best or load_checkpoint(path, KIND)
    load_module_state(loop.model, best["models"]["vae"], "VAE")
    if refine:
        loop.history["decoder"] = _refine(loop, best, noise)
    if prior:
        loop.history["prior"] = _fit_prior(loop, best)
    return loop.model


def _refine(loop: Any, best: dict, noise: Any) -> dict:
    """Refine the best weights' decoder alone and store it in the best checkpoint. It always starts from the joint
    training's decoder (kept in the checkpoint beside the refined one), so a repeated call gives the same."""
    joint = best["state"].get("joint_decoder")
    if joint is not None:
        loop.model.decoder.load_state_dict(joint)
    joint = joint or {k: v.clone() for k, v in loop.model.decoder.state_dict().items()}
    done = refine_decoder(
        loop.model, loop.splits.train, loop.splits.val, loop.cfg.train, loop.cfg.runtime.seed, loop.device, noise
    )
    best["models"]["vae"], best["state"]["joint_decoder"], best["state"]["decoder"] = (
        loop.model.state_dict(),
        joint,
        done,
    )
    rewrite_checkpoint(loop.run_dir / rundir.BEST, best)
    return done


def _fit_prior(loop: Any, best: dict) -> dict:
    """Fit the mixture prior to the best weights' codes of the training images; store it in the best checkpoint."""
    started = time.monotonic()
    tc, seed, model = loop.cfg.train, loop.cfg.runtime.seed, loop.model
    pick = torch.randperm(len(loop.splits.train), generator=torch.Generator().manual_seed(seed))[: tc.prior_max_codes]
    codes = model.eval().posterior_means(loop.splits.train[pick])  # (M, d)
    fit = model.prior.fit(codes, iterations=tc.prior_iterations, seed=seed)
    hist = {"components": model.prior.components, "codes": len(codes)} | fit | {"seconds": time.monotonic() - started}
    best["models"]["vae"] = model.state_dict()
    best["state"]["prior"] = hist
    rewrite_checkpoint(loop.run_dir / rundir.BEST, best)
    return hist
