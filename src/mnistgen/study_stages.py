"""The stages of the study (STUDY.md §1–3), in order. Each returns a JSON-ready result dict."""

from __future__ import annotations

import time
from typing import Any

from mnistgen.study import Stage, Study


def _evaluator(study: Study, minutes: float) -> dict[str, Any]:
    started = time.monotonic()
    ev = study.get_evaluator()  # trains it (minutes) only if the cache has none
    return {"test_accuracy": ev.accuracy, "directory": str(ev.directory), "seconds_to_ready": time.monotonic() - started,
            "info": ev.info}


def _real(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.metrics import evaluate_real
    from mnistgen.metrics.distances import real_inception_score

    ev = study.get_evaluator()
    scores = evaluate_real(study.dataset, n=study.profile.n, evaluator=ev, seed=study.seed, kid_subset_size=study.profile.kid_subset)
    mean, std = real_inception_score(study.dataset, n=500, seed=study.seed, evaluator=ev)
    return scores | {"is_500_mean": mean, "is_500_std": std, "n_500": 500}


def _vae(preset: str, *extra: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        from mnistgen.train import vae

        cfg = study.configure(vae.PRESETS[preset], "vae", minutes, extra)
        run_dir = study.out / f"vae-{preset}"
        summary = vae.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir,
                            download_missing=study.download_missing, preset_name=preset)
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir)}

    return run


LOSS_STAGES = tuple(f"gan-fast-{loss}" for loss in ("bce", "wgan", "wgan-gp"))


def _gan(preset: str, loss: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        from mnistgen.train import gan

        extra: tuple[str, ...] = ()
        window = 60.0 * min((b for n in LOSS_STAGES if (b := study.budgets.get(n, 0.0)) > 0), default=0.0)
        if f"gan-{preset}-{loss}" in LOSS_STAGES and window:
            # ten probes (n = 1,000) inside the losses' common window, so its last third has a spread to measure
            extra = (f"train.probe_dense_seconds={window / 10:.3f}", f"train.probe_dense_until={window:.3f}", "train.probe_n=1000")
        cfg = study.configure(gan.configure(preset, loss), "gan", minutes, extra)
        run_dir = study.out / f"gan-{preset}-{loss}"
        summary = gan.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir, download_missing=study.download_missing,
                            preset_name=preset, probe=study.probe())
        gan.make_figures(run_dir)  # loss curves, quality vs time, the final 10x10 grid
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir)}

    return run


def truncate(hist: dict, seconds: float) -> dict:
    """A GAN history cut at ``seconds`` of training: compares runs over the same time window."""
    keep = sum(1 for t in hist["train_seconds"] if t <= seconds + 1e-9)
    out = {k: v[:keep] if isinstance(v, list) and len(v) == len(hist["train_seconds"]) else v for k, v in hist.items()}
    out["probe"] = [p for p in hist.get("probe", []) if p["train_seconds"] <= seconds + 1e-9]
    return out


def _loss_comparison(study: Study, minutes: float) -> dict[str, Any]:
    """bce vs wgan vs wgan-gp (the fast preset), judged over the same training-time window."""
    from mnistgen.plots.gan import plot_losses, plot_quality_vs_time, save_loss_grids
    from mnistgen.rundir import read_json
    from mnistgen.train.gan_studies import summarize

    runs = {name.removeprefix("gan-fast-"): study.out / name for name in LOSS_STAGES}
    runs = {k: v for k, v in runs.items() if (v / "history.json").exists()}
    if len(runs) < 2:
        raise RuntimeError("fewer than two of the loss runs finished: nothing to compare")
    full = {k: read_json(v / "history.json") for k, v in runs.items()}
    window = min(h["train_seconds"][-1] for h in full.values() if h["train_seconds"])
    hists = {k: truncate(h, window) for k, h in full.items()}
    rows = [summarize(h) for h in hists.values()]
    out = study.out / "gan-losses"
    out.mkdir(exist_ok=True)
    fastest = min((r for r in rows if r["time_to_is_target"] is not None), key=lambda r: r["time_to_is_target"], default=None)
    wobble = "is_wobble_last_third" if all(r["is_wobble_last_third"] is not None for r in rows) else "is_spread_last_third"
    steadiest = min(rows, key=lambda r: r[wobble] if r[wobble] is not None else float("inf"))
    speed = (f"{fastest['loss']} reaches IS 8 first ({fastest['time_to_is_target']:.0f} s)" if fastest
             else "no loss reaches IS 8 in this window")
    figures = [
        (plot_losses(hists, out / "losses.png", "GAN losses by loss type (fast preset)"),
         "Discriminator/critic and generator losses per step (moving average), one panel per loss; the Wasserstein "
         "panels also show the critic's estimate of the Wasserstein distance. Compare how much each curve still "
         "oscillates late in training (the D-loss jitter column of the table)."),
        (plot_quality_vs_time(hists, out / "quality_vs_time.png", "Sample quality vs training time (fast preset)", target=8.0),
         f"Probe Inception Score and digit classes covered against training seconds, every loss over the same "
         f"{window:.0f} s window. Notice that {speed}, and that {steadiest['loss']} is the steadiest over the last third "
         f"(IS std {'about its trend ' if wobble == 'is_wobble_last_third' else ''}{steadiest[wobble]:.3f}; a curve that "
         f"is still climbing has a large plain std but a small one about its trend)."),
        (save_loss_grids(runs, out / "samples.png", "Final samples by loss (fast preset)"),
         "Final samples of each loss's run (EMA generator) after its whole budget, not the common window: "
         + ", ".join(f"{k} {h['train_seconds'][-1]:.0f} s" for k, h in full.items()) + " of training."),
    ]
    headers = ["loss", "G steps", "train s", "s to IS ≥ 8", "final IS", "best IS", "modes", "class-KL", "IS std (last ⅓)",
               "IS std about trend (last ⅓)",
               "D-loss std (last ⅓)", "D-loss jitter (last ⅓)"]
    keys = ["loss", "steps", "train_seconds", "time_to_is_target", "final_is", "best_is", "final_modes", "final_class_kl",
            "is_spread_last_third", "is_wobble_last_third", "d_loss_std_last_third", "d_loss_jitter_last_third"]
    table = {"headers": headers, "rows": [[r.get(k) for k in keys] for r in rows]}
    return {"window_seconds": window, "rows": rows, "table": table, "probe_n": rows[0].get("probe_n"),
            "figures": [(str(p.relative_to(study.out)), c) for p, c in figures]}


def _capacity(study: Study, minutes: float) -> dict[str, Any]:
    from mnistgen.train import gan_studies

    base = study.configure(gan_studies.capacity_config(1), "gan", 0)  # the study's data and runtime settings
    result = gan_studies.capacity_sweep(
        study.out / "gan-capacity", widths=study.profile.sweep_widths, minutes=minutes or 0.1, data=base.data,
        runtime=base.runtime, data_dir=study.data_dir, download_missing=study.download_missing, overwrite=True,
        probe=study.probe(),
    )
    rows = result["rows"]
    headers = ["width", "G params", "D params", "G steps", "IS", "modes", "class-KL"]
    table = {"headers": headers, "rows": [[r["width"], r["g_params"], r["d_params"], r["steps"], r["is"], r["modes"], r["class_kl"]]
                                          for r in rows]}
    small, large = rows[0], rows[-1]
    figures = [
        ("gan-capacity/capacity.png",
         f"Generator capacity vs quality against one fixed discriminator (probe IS at n = {small.get('probe_n')}). Notice the "
         f"smallest generator ({small['g_params']:,} parameters) covers {small['modes']} digit class(es) while the largest "
         f"({large['g_params']:,}) covers {large['modes']}."),
        ("gan-capacity/collapse.png",
         f"Samples of the smallest generator (left, {small['modes']} class(es) by the evaluator, class-KL "
         f"{small['class_kl']:.2f}; log 10 = 2.30 means everything lands in one class) beside the largest (right, "
         f"{large['modes']} classes). Judge by eye whether the small one draws one repeated digit (the study's anecdote) "
         "or cannot form strokes at all within this budget."),
    ]
    return {"rows": rows, "table": table, "figures": figures}


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
    # weights are minutes at the default 16.5-minute budget (the VAEs' ~10 s prior fit comes on top);
    # the seed VAEs get the epochs that fit it, so their one-cycle schedule completes
    Stage("vae-conv", "VAE, strong convolutional preset (mixture prior)", 2.5, 0.5, _vae("conv"), needs=("evaluator",)),
    Stage("vae-seed", "VAE, the study's LSTM/tiny-decoder preset (latent 10, mixture prior)", 3.0, 0.5,
          _vae("seed", "train.epochs=5"), needs=("evaluator",)),
    Stage("vae-seed-2d", "VAE, seed preset with a 2-D latent (latent map)", 1.25, 0.3, _vae("seed-2d", "train.epochs=2"),
          needs=("evaluator",)),
    Stage("gan-fast-bce", "GAN, fast preset, cross-entropy", 3.5, 1.0, _gan("fast", "bce"), needs=("evaluator",)),
    Stage("gan-fast-wgan", "GAN, fast preset, Wasserstein (weight clipping)", 1.0, 0.3, _gan("fast", "wgan"), needs=("evaluator",)),
    Stage("gan-fast-wgan-gp", "GAN, fast preset, Wasserstein (gradient penalty)", 3.0, 0.3, _gan("fast", "wgan-gp"),
          needs=("evaluator",)),
    Stage("gan-seed-bce", "GAN, the study's seed DCGAN (briefly: ~0.6 steps/s on CPU)", 0.25, 0.2, _gan("seed", "bce"), needs=("evaluator",)),
    Stage("gan-losses", "cross-entropy vs Wasserstein: convergence and stability", 0, 0, _loss_comparison),
    Stage("gan-capacity", "generator capacity sweep (mode collapse of a too-weak generator)", 2.0, 0.6, _capacity,
          needs=("evaluator",)),
    Stage("comparison", "qualitative comparison figure", 0, 0, _comparison, needs=("evaluator",)),
]
