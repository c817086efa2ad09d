"""The stages of the study, in order. Each returns a JSON-ready result: the work it did, its scores (``metrics`` and
the ``row`` it adds to the comparison table) and the ``blocks`` (figures with captions, tables) of its part of the
report. The report renders what the stages return; it names no stage and no figure path."""

from __future__ import annotations

import re

from pathlib import Path
from typing import Any

from mnistgen import gan, rundir, vae
from mnistgen.metrics import evaluate_real, held_out, inception_score_of
from mnistgen.plotting import save_rows
from mnistgen.rundir import read_json
from mnistgen.sampling import sample_images
from mnistgen.study import captions
from mnistgen.study.core import Stage, Study
from mnistgen.study.gan_studies import (LADDER, capacity_result, code_purity, gan_work, ladder_config, loss_comparison,
                                         rung_cap_shares, sweep_row)

ORIGINAL_GAN_IMAGES = gan.PRESETS["seed"].train.steps * gan.PRESETS["seed"].train.batch_size  # the original recipe


def fig(study: Study, path: str | Path, caption: str) -> dict[str, str]:
    """A report block: a figure (path relative to the study directory) and its caption."""
    return {"fig": Path(path).resolve().relative_to(study.out.resolve()).as_posix(), "caption": caption}


def _evaluator(study: Study) -> dict[str, Any]:
    ev = study.get_evaluator()
    return {"identity": ev.identity(), "text": ev.describe()}


def _real(study: Study) -> dict[str, Any]:
    ev = study.get_evaluator()
    scores = evaluate_real(ev, n=study.profile.n, seed=study.seed, kid_subset_size=study.profile.kid_subset,
                           data_dir=study.data_dir, download_missing=study.download_missing)
    mean, std = inception_score_of(held_out(ev, study.data_dir, study.download_missing), ev, n=500, seed=study.seed)
    return {"metrics": scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, scores["n"])},
            "row": {"label": f"real {study.info.title} (held out)", "original": "real"}}


VAE_NAMES = {"conv": "convolutional VAE", "seed": "seed VAE (LSTM encoder, tiny decoder)", "seed-2d": "2-D seed VAE"}


def _vae_blocks(study: Study, preset: str, run: Path, metrics: dict, cfg: vae.VAERunConfig) -> list[dict]:
    hist, figs, name, info = read_json(run / rundir.HISTORY), run / rundir.FIGURES, VAE_NAMES[preset], study.info
    original_rise = info.original is not None  # the original study (on MNIST) saw the KL term rise
    blocks = [fig(study, figs / "samples.png", captions.samples_caption(name, metrics, info, ", " + captions.sampling_note(hist)))]
    if (figs / "samples_normal.png").is_file():
        blocks.append(fig(study, figs / "samples_normal.png", "The same decoder on 100 codes z ~ N(0, I), the original study's "
                                                              "recipe, for comparison with the fitted prior."))
    if (figs / "latent_map.json").is_file():
        blocks.append(fig(study, figs / "latent_map.png", captions.latent_caption(read_json(figs / "latent_map.json"), info)))
    loss_words = f"The {name}. {captions.loss_caption(hist, cfg.train.patience, cfg.train.epochs)} {captions.refinement_caption(hist)}"
    blocks += [fig(study, figs / "loss.png", loss_words.rstrip()),
               fig(study, figs / "kl.png", f"The {name}. " + captions.kl_caption(hist, original_rise))]
    if (figs / "reconstructions.png").is_file() and preset == "conv":
        blocks.append(fig(study, figs / "reconstructions.png", "Reconstructions of test images: inputs (top), decoded "
                                                               "posterior means (bottom)."))
    return blocks


def _vae(preset: str, label: str, warm_from: str | None = None):
    def run(study: Study) -> dict[str, Any]:
        name = f"vae-{preset}"
        extra = (f"train.warm_start={study.out / warm_from}",) if warm_from else ()
        cfg = study.configure(vae.configure(preset), name, extra)
        run_dir, summary = study.train(vae.FAMILY, cfg, name, preset)
        metrics = study.score_run(run_dir)
        per_epoch = summary["epoch_images"]
        return {"run_dir": name, "preset": preset, "metrics": metrics, "row": {"label": label, "original": "vae"},
                "work": {"epochs": summary["epochs_completed"], "max_epochs": cfg.train.epochs, "best_epoch": summary["best_epoch"],
                         "images": summary["epochs_completed"] * per_epoch, "epoch_images": per_epoch,
                         "train_images": summary["dataset"]["n_train_used"],
                         "decoder_images": (summary.get("decoder_refinement") or {}).get("images_seen", 0)},
                "stopped": summary["stopped"], "cut_short": summary["stopped"] == "time-budget",
                "blocks": _vae_blocks(study, preset, run_dir, metrics, cfg)}

    return run


def _gan(name: str, preset: str, loss: str, label: str, show: bool):
    def run(study: Study) -> dict[str, Any]:
        cfg = study.configure(gan.configure(preset, loss), name)
        run_dir, summary = study.train(gan.FAMILY, cfg, name, preset, probe=study.probe())
        metrics, work = study.score_run(run_dir), gan_work(run_dir)
        result = {"run_dir": name, "preset": preset, "loss": loss, "metrics": metrics, "row": {"label": label, "original": "gan"},
                  "work": work, "stopped": summary["stopped"], "cut_short": summary["stopped"] == "time", "blocks": []}
        if show:
            what = f"{label}, after {work['steps']:,} generator steps ({work['images']:,} images)"
            if preset.startswith("seed"):
                what += f", {work['images'] / ORIGINAL_GAN_IMAGES:.1%} of the original recipe's {ORIGINAL_GAN_IMAGES:,}"
            result["blocks"].append(fig(study, run_dir / "figures/samples.png", captions.samples_caption(what, metrics, study.info)))
            if (run_dir / "figures/codes.png").is_file():
                purity = code_purity(run_dir, study.get_evaluator())
                result["blocks"].append(fig(study, run_dir / "figures/codes.png", captions.code_caption(cfg.model.categories, purity,
                                                                                                       study.info)))
        return result

    return run


def _losses(study: Study) -> dict[str, Any]:
    preset = study.profile.loss_preset
    runs = {loss: study.out / f"gan-losses-{loss}" for loss in gan.LOSSES}
    result = loss_comparison({k: v for k, v in runs.items() if (v / rundir.HISTORY).exists()}, study.out / "gan-losses",
                             f"{preset} preset", study.info.is_targets)
    blocks = [{"table": result["table"]}] + [fig(study, p, c) for p, c in result.pop("figures")]
    return result | {"blocks": blocks}


def _capacity(study: Study) -> dict[str, Any]:
    ev, out = study.get_evaluator(), study.out / "gan-capacity"
    rows, shares = [], rung_cap_shares()
    for rung in LADDER:
        cfg = study.configure(ladder_config(rung), "gan-capacity", cap_share=shares[rung])
        run_dir, _ = study.train(gan.FAMILY, cfg, f"gan-capacity/{re.sub('[^a-z0-9]+', '-', rung.lower()).strip('-')}", LADDER[rung][0],
                                 probe=None)
        rows.append(sweep_row(run_dir, rung, ev, 2000, LADDER[rung][2]))
    top = study.out / "gan-losses-bce"  # the most complex generator: the fast preset, trained for the loss comparison
    preset = study.profile.loss_preset
    label = {"fast": "fast (z 32, 128-64-32, 200 clusters)", "seed": "seed DCGAN (z 100, 128-128)"}.get(preset, preset)
    rows.append(sweep_row(top, label, ev, 2000, f"{preset} discriminator"))
    result = capacity_result(rows, out, study.info)
    for row in result["rows"]:
        row["run_dir"] = Path(row["run_dir"]).relative_to(study.out).as_posix()
    return result | {"blocks": [{"table": result["table"]}] + [fig(study, p, c) for p, c in result.pop("figures")]}


def _comparison(study: Study) -> dict[str, Any]:
    """One figure: a row of real images, a row of VAE samples, a row of GAN samples."""
    done = study.state.get("stages", {})
    first = {kind: next((n for n, s in done.items() if n.startswith(kind + "-") and s.get("status") == "done"
                         and "metrics" in (s.get("result") or {})), None) for kind in ("vae", "gan")}
    rows = [("real", held_out(study.get_evaluator(), study.data_dir, study.download_missing)[:12])]
    for kind, name in first.items():
        if name:
            rows.append((f"{kind.upper()}\n({name[len(kind) + 1:]})", sample_images(study.out / name, 12, seed=study.seed)))
    path = save_rows(rows, study.out / "figures" / "comparison.png", f"{study.info.title}: real vs VAE vs GAN samples")
    caption = (f"A row of real {study.info.items}, a row of VAE samples and a row of GAN samples: the first samples drawn, "
               "not chosen.")
    return {"figure": path.relative_to(study.out).as_posix(), **first, "blocks": [fig(study, path, caption)]}


def _loss_stage(loss: str, share: float) -> Stage:
    label = {"bce": "cross-entropy", "wgan": "Wasserstein, weight clipping", "wgan-gp": "Wasserstein, gradient penalty"}[loss]
    return Stage(f"gan-losses-{loss}", f"GAN, loss comparison: {label}", "gan", lambda s: _gan(
        f"gan-losses-{loss}", s.profile.loss_preset, loss, f"GAN ({s.profile.loss_preset}, {label})", loss == "bce")(s),
        needs=("evaluator",), share=share)


STAGES = [
    Stage("evaluator", "the dataset's evaluator classifier (shipped with the package)", "setup", _evaluator),
    Stage("real", "real-data reference scores", "setup", _real, needs=("evaluator",)),
    Stage("vae-conv", "VAE, strong convolutional preset (mixture prior)", "vae", _vae("conv", "VAE (conv)"), ("evaluator",), 1.5),
    Stage("vae-seed", "VAE, the study's LSTM / tiny-decoder networks (latent 10), with early stopping", "vae",
          _vae("seed", "VAE (seed)"), ("evaluator",), 1.2),
    Stage("vae-seed-2d", "VAE, the seed networks with a 2-D latent (the latent map), started from the 10-D one", "vae",
          _vae("seed-2d", "VAE (seed, 2-D)", warm_from="vae-seed"), ("evaluator", "vae-seed"), 0.5),
    _loss_stage("bce", 1.2), _loss_stage("wgan", 1.2), _loss_stage("wgan-gp", 2.0),
    Stage("gan-losses", "cross-entropy vs Wasserstein at equal work: convergence and stability", "gan", _losses),
    Stage("gan-seed", "GAN, the study's seed DCGAN (its architecture exactly, a fast recipe)", "gan",
          lambda s: _gan("gan-seed", s.profile.seed_gan_preset, "bce", "GAN (seed DCGAN)", True)(s), ("evaluator",), 2.5),
    Stage("gan-capacity", "generator capacity vs mode collapse (a too-weak MLP, then wider and wider conv generators)", "gan",
          _capacity, ("evaluator", "gan-losses-bce"), 3.2),
    Stage("comparison", "qualitative comparison figure", "comparison", _comparison, needs=("evaluator",)),
]
