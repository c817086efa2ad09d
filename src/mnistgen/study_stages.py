"""The stages of the study (STUDY.md §1–3), in order. Each returns a JSON-ready result dict."""

from __future__ import annotations

import time
from typing import Any

from mnistgen.study import Stage, Study


def _evaluator(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.metrics.evaluator import evaluator_dir  # noqa: F401  (fails early if metrics are broken)

    started = time.monotonic()
    ev = study.get_evaluator()
    info = dict(getattr(ev, "info", {}) or {})
    return {"test_accuracy": info.get("test_accuracy"), "directory": str(getattr(ev, "directory", "")),
            "seconds_to_ready": time.monotonic() - started, "trained_now": bool(info.get("trained_seconds")) and
            time.monotonic() - started > 5, "info": info}


def _real(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.metrics import evaluate_real
    from mnistgen.metrics.distances import real_inception_score

    ev = study.get_evaluator()
    scores = evaluate_real(study.dataset, n=study.profile.n, evaluator=ev, seed=study.seed, kid_subset_size=study.profile.kid_subset)
    mean, std = real_inception_score(study.dataset, n=500, seed=study.seed, evaluator=ev)
    return scores | {"is_500_mean": mean, "is_500_std": std, "n_500": 500}


def _vae(preset: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        from mnistgen.train import vae

        cfg = study.configure(vae.PRESETS[preset], "vae", minutes)
        run_dir = study.out / f"vae-{preset}"
        summary = vae.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir,
                            download_missing=study.download_missing, preset_name=preset)
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir)}

    return run


def _gan(preset: str, loss: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        from mnistgen.train import gan

        cfg = study.configure(gan.configure(preset, loss), "gan", minutes)
        run_dir = study.out / f"gan-{preset}-{loss}"
        summary = gan.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir,
                            download_missing=study.download_missing, preset_name=preset)
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir)}

    return run


def _loss_comparison(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.train import gan_studies

    runs = {loss: study.out / f"gan-fast-{loss}" for loss in ("bce", "wgan", "wgan-gp")}
    return gan_studies.summarize_losses({k: v for k, v in runs.items() if (v / "history.json").exists()},
                                        study.out / "gan-losses")


def _capacity(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.train import gan_studies

    return gan_studies.capacity_sweep(
        study.out / "gan-capacity", minutes=minutes, widths=study.profile.sweep_widths, data_dir=study.data_dir,
        overrides=(*study.profile.data_overrides, f"runtime.device={study.device}", f"runtime.seed={study.seed}",
                   *study.profile.stage_overrides.get("gan", ())),
        evaluator=study.get_evaluator(), n=study.profile.n,
    )


def _comparison(study: Study, minutes: float) -> dict[str, Any]:
    """One figure: a row of real digits, a row of VAE samples, a row of GAN samples."""
    from mnistgen.images import to_unit
    from mnistgen.plots.common import save_rows
    from mnistgen.sampling import sample_images

    done = study.state.get("stages", {})
    vae = next((n for n in ("vae-conv", "vae-seed") if done.get(n, {}).get("status") == "done"), None)
    gan = next((n for n in ("gan-fast-bce", "gan-fast-wgan-gp", "gan-seed-bce") if done.get(n, {}).get("status") == "done"), None)
    real = to_unit(study.get_evaluator().held_out_images()[:12])
    rows = [("real", real)]
    if vae:
        rows.append((f"VAE\n({vae[4:]})", sample_images(study.out / done[vae]["result"]["run_dir"], 12, seed=study.seed)))
    if gan:
        rows.append((f"GAN\n({gan[4:]})", sample_images(study.out / done[gan]["result"]["run_dir"], 12, seed=study.seed)))
    path = save_rows(rows, study.out / "figures" / "comparison.png", "Real MNIST vs VAE vs GAN samples (not cherry-picked)")
    return {"figure": str(path.relative_to(study.out)), "vae": vae, "gan": gan}


STAGES = [
    Stage("evaluator", "evaluator classifier (trained once, then cached)", 0, 0, _evaluator),
    Stage("real", "real-data reference scores", 0, 0, _real, needs=("evaluator",)),
    Stage("vae-conv", "VAE, strong convolutional preset", 2.5, 0.5, _vae("conv"), needs=("evaluator",)),
    Stage("vae-seed", "VAE, the study's LSTM/tiny-decoder preset (latent 10)", 1.8, 0.5, _vae("seed"), needs=("evaluator",)),
    Stage("vae-seed-2d", "VAE, seed preset with a 2-D latent (latent map)", 1.0, 0.3, _vae("seed-2d"), needs=("evaluator",)),
    Stage("gan-fast-bce", "GAN, fast preset, cross-entropy", 3.5, 1.0, _gan("fast", "bce"), needs=("evaluator",)),
    Stage("gan-fast-wgan", "GAN, fast preset, Wasserstein (weight clipping)", 1.5, 0.5, _gan("fast", "wgan"), needs=("evaluator",)),
    Stage("gan-fast-wgan-gp", "GAN, fast preset, Wasserstein (gradient penalty)", 2.0, 0.5, _gan("fast", "wgan-gp"), needs=("evaluator",)),
    Stage("gan-seed-bce", "GAN, the study's seed DCGAN (briefly: ~0.6 steps/s on CPU)", 0.7, 0.3, _gan("seed", "bce"), needs=("evaluator",)),
    Stage("gan-losses", "cross-entropy vs Wasserstein: convergence and stability", 0, 0, _loss_comparison),
    Stage("gan-capacity", "generator capacity sweep (mode collapse of a too-weak generator)", 2.0, 0.5, _capacity,
          needs=("evaluator",)),
    Stage("comparison", "qualitative comparison figure", 0, 0, _comparison, needs=("evaluator",)),
]
