"""The stages of the study, in order. Each returns a JSON-ready result: its scores (``metrics`` and the
``row`` it adds to the comparison table), and the ``blocks`` (figures with captions, tables) of its part
of the report. The report renders what the stages return; it names no stage and no figure path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mnistgen import gan, vae
from mnistgen.images import to_unit
from mnistgen.metrics import evaluate_real
from mnistgen.metrics.distances import real_inception_score
from mnistgen.plotting import save_rows
from mnistgen.rundir import read_json
from mnistgen.sampling import sample_images
from mnistgen.study import captions
from mnistgen.study.core import Stage, Study
from mnistgen.study.gan_studies import capacity_config, capacity_sweep, loss_comparison


def fig(study: Study, path: Path, caption: str) -> dict[str, str]:
    """A report block: a figure (path relative to the study directory) and its caption."""
    return {"fig": Path(path).relative_to(study.out).as_posix(), "caption": caption}


def _evaluator(study: Study, minutes: float) -> dict[str, Any]:
    started = time.monotonic()
    ev = study.get_evaluator()  # trains it (minutes) only if the cache has none
    return {"test_accuracy": ev.accuracy, "directory": str(ev.directory), "seconds_to_ready": time.monotonic() - started,
            "info": ev.info}


def _real(study: Study, minutes: float) -> dict[str, Any]:
    ev = study.get_evaluator()
    scores = evaluate_real(study.dataset, n=study.profile.n, evaluator=ev, seed=study.seed, kid_subset_size=study.profile.kid_subset)
    mean, std = real_inception_score(study.dataset, n=500, seed=study.seed, evaluator=ev)
    return {"metrics": scores | {"is_500_mean": mean, "is_500_std": std, "n_500": 500},
            "row": {"label": "real (held out)", "original": "real"}}


def _vae_blocks(study: Study, preset: str, run: Path) -> list[dict]:
    hist = read_json(run / "history.json")
    figs = run / "figures"
    name = {"conv": "Conv VAE", "seed": "Seed VAE (LSTM encoder, tiny decoder)", "seed-2d": "2-D seed VAE"}[preset]
    blocks = [fig(study, figs / "kl.png", f"{name}. " + captions.kl_caption(hist)),
              fig(study, figs / "loss.png", f"{name}. " + captions.loss_caption(hist)),
              fig(study, figs / "samples.png", f"100 samples of the {name}, " + captions.sampling_note(hist))]
    if (figs / "samples_normal.png").is_file():
        blocks.append(fig(study, figs / "samples_normal.png",
                          "The same decoder on 100 codes z ~ N(0, I), the original study's recipe, for comparison."))
    if (figs / "latent_map.png").is_file():
        blocks.append(fig(study, figs / "latent_map.png", f"Latent map of the {name}: test-set posterior means coloured by label."))
    if (figs / "reconstructions.png").is_file() and preset == "conv":
        blocks.append(fig(study, figs / "reconstructions.png", "Conv VAE reconstructions: inputs (top) vs outputs (bottom)."))
    return blocks


def _vae(preset: str, label: str, *extra: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        cfg = study.configure(vae.PRESETS[preset], "vae", minutes, extra)
        run_dir = study.out / f"vae-{preset}"
        summary = vae.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir,
                            download_missing=study.download_missing, preset_name=preset)
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir),
                "row": {"label": label, "original": "vae"}, "blocks": _vae_blocks(study, preset, run_dir)}

    return run


LOSS_STAGES = tuple(f"gan-fast-{loss}" for loss in ("bce", "wgan", "wgan-gp"))


def _gan(preset: str, loss: str, label: str):
    def run(study: Study, minutes: float) -> dict[str, Any]:
        extra: tuple[str, ...] = ()
        window = 60.0 * min((b for n in LOSS_STAGES if (b := study.budgets.get(n, 0.0)) > 0), default=0.0)
        if f"gan-{preset}-{loss}" in LOSS_STAGES and window:
            # ten probes (n = 1,000) inside the losses' common window, so its last third has a spread to measure
            extra = (f"train.probe_dense_seconds={window / 10:.3f}", f"train.probe_dense_until={window:.3f}", "train.probe_n=1000")
        cfg = study.configure(gan.configure(preset, loss), "gan", minutes, extra)
        run_dir = study.out / f"gan-{preset}-{loss}"
        summary = gan.train(cfg, run_dir, overwrite=True, data_dir=study.data_dir, download_missing=study.download_missing,
                            preset_name=preset, probe=study.probe())
        figs = run_dir / "figures"
        blocks = [fig(study, figs / "samples.png", f"100 samples of the {label} (EMA generator).")]
        if (figs / "codes.png").is_file():
            blocks.append(fig(study, figs / "codes.png", captions.code_caption(read_json(run_dir / "config.json")["config"]["model"])))
        return {"run_dir": run_dir.name, "train": summary, "metrics": study.score_run(run_dir),
                "row": {"label": label, "original": "gan"}, "blocks": blocks if loss == "bce" else []}

    return run


def _loss_comparison(study: Study, minutes: float) -> dict[str, Any]:
    """bce vs wgan vs wgan-gp (the fast preset), judged over the same training-time window."""
    runs = {name.removeprefix("gan-fast-"): study.out / name for name in LOSS_STAGES}
    result = loss_comparison({k: v for k, v in runs.items() if (v / "history.json").exists()}, study.out / "gan-losses")
    blocks = [{"table": result["table"]}] + [fig(study, path, caption) for path, caption in result.pop("figures")]
    return result | {"blocks": blocks}


def _capacity(study: Study, minutes: float) -> dict[str, Any]:
    base = study.configure(capacity_config(1), "gan", 0)  # the study's data and runtime settings
    result = capacity_sweep(
        study.out / "gan-capacity", widths=study.profile.sweep_widths, minutes=minutes or 0.1, data=base.data,
        runtime=base.runtime, data_dir=study.data_dir, download_missing=study.download_missing, overwrite=True,
        probe=study.probe(),
    )
    rows = result["rows"]
    table = {"headers": ["width", "G params", "D params", "G steps", "IS", "modes", "class-KL"],
             "rows": [[r["width"], r["g_params"], r["d_params"], r["steps"], r["is"], r["modes"], r["class_kl"]] for r in rows]}
    small, large = rows[0], rows[-1]
    blocks = [
        {"table": table},
        fig(study, study.out / "gan-capacity" / "capacity.png",
            f"Generator capacity vs quality against one fixed discriminator (probe IS at n = {small.get('probe_n')}). The "
            f"smallest generator ({small['g_params']:,} parameters) covers {small['modes']} class(es), the largest "
            f"({large['g_params']:,}) covers {large['modes']}."),
        fig(study, study.out / "gan-capacity" / "collapse.png",
            f"Samples of the smallest generator (left, {small['modes']} class(es) by the evaluator, class-KL "
            f"{small['class_kl']:.2f}; log 10 = 2.30 means everything lands in one class) beside the largest (right, "
            f"{large['modes']} classes)."),
    ]
    return {"rows": rows, "table": table, "blocks": blocks}


def _comparison(study: Study, minutes: float) -> dict[str, Any]:
    """One figure: a row of real images, a row of VAE samples, a row of GAN samples."""
    done = study.state.get("stages", {})
    first = {kind: next((n for n, s in done.items() if n.startswith(kind + "-") and s.get("status") == "done"
                         and s.get("result", {}).get("run_dir")), None) for kind in ("vae", "gan")}
    rows = [("real", to_unit(study.get_evaluator().held_out_images()[:12]))]
    for kind, name in first.items():
        if name:
            rows.append((f"{kind.upper()}\n({name[len(kind) + 1:]})", sample_images(study.out / done[name]["result"]["run_dir"], 12,
                                                                                   seed=study.seed)))
    path = save_rows(rows, study.out / "figures" / "comparison.png", "Real vs VAE vs GAN samples (not cherry-picked)")
    caption = ("Qualitative comparison: a row of real images, a row of VAE samples, a row of GAN samples (the first samples "
               "drawn, not cherry-picked).")
    return {"figure": path.relative_to(study.out).as_posix(), **first, "blocks": [fig(study, path, caption)]}


STAGES = [
    Stage("evaluator", "evaluator classifier (trained once, then cached)", "setup", 0, 0, _evaluator),
    Stage("real", "real-data reference scores", "setup", 0, 0, _real, needs=("evaluator",)),
    # weights are minutes at the default 16.5-minute budget (the VAEs' ~10 s prior fit comes on top);
    # the seed VAEs get the epochs that fit it, so their one-cycle schedule completes
    Stage("vae-conv", "VAE, strong convolutional preset (mixture prior)", "vae", 2.5, 0.5, _vae("conv", "VAE (conv)"),
          needs=("evaluator",)),
    Stage("vae-seed", "VAE, the study's LSTM/tiny-decoder preset (latent 10, mixture prior)", "vae", 3.0, 0.5,
          _vae("seed", "VAE (seed)", "train.epochs=5"), needs=("evaluator",)),
    Stage("vae-seed-2d", "VAE, seed preset with a 2-D latent (latent map)", "vae", 1.25, 0.3,
          _vae("seed-2d", "VAE (seed, 2-D)", "train.epochs=2"), needs=("evaluator",)),
    Stage("gan-fast-bce", "GAN, fast preset, cross-entropy", "gan", 3.5, 1.0, _gan("fast", "bce", "GAN (fast, cross-entropy)"),
          needs=("evaluator",)),
    Stage("gan-fast-wgan", "GAN, fast preset, Wasserstein (weight clipping)", "gan", 1.0, 0.3,
          _gan("fast", "wgan", "GAN (fast, WGAN clip)"), needs=("evaluator",)),
    Stage("gan-fast-wgan-gp", "GAN, fast preset, Wasserstein (gradient penalty)", "gan", 3.0, 0.3,
          _gan("fast", "wgan-gp", "GAN (fast, WGAN-GP)"), needs=("evaluator",)),
    Stage("gan-seed-bce", "GAN, the study's seed DCGAN (briefly: ~0.6 steps/s on CPU)", "gan", 0.25, 0.2,
          _gan("seed", "bce", "GAN (seed)"), needs=("evaluator",)),
    Stage("gan-losses", "cross-entropy vs Wasserstein: convergence and stability", "gan", 0, 0, _loss_comparison),
    Stage("gan-capacity", "generator capacity sweep (mode collapse of a too-weak generator)", "gan", 2.0, 0.6, _capacity,
          needs=("evaluator",)),
    Stage("comparison", "qualitative comparison figure", "comparison", 0, 0, _comparison, needs=("evaluator",)),
]
