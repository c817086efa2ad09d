"""GAN studies: cross-entropy vs Wasserstein losses, and generator capacity vs mode collapse.

Both take a TOTAL time budget in minutes, split evenly over their training runs, and write into
``out``: one run directory per training run, ``<study>.json`` (the table), ``<study>.md`` and
figures. A run that already finished in ``out`` is reused (so an interrupted study continues)
unless ``overwrite``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mnistgen import gan as T
from mnistgen import rundir
from mnistgen.config import DataConfig, RuntimeConfig
from mnistgen.errors import MnistgenError
from mnistgen.gan import LOSSES, build, count_params, plot_losses, plot_quality_vs_time
from mnistgen.study.figures import plot_capacity, save_collapse_grid, save_loss_grids

DEFAULT_WIDTHS = (1, 4, 16, 64)


def _finished(run_dir: Path) -> bool:
    try:
        return "stopped" in rundir.read_json(run_dir / rundir.HISTORY)
    except MnistgenError:
        return False


def _run(cfg: T.GANRunConfig, run_dir: Path, seconds: float, preset: str, *, data, runtime, data_dir, download_missing, overwrite, probe) -> dict:
    """Train one study run (or reuse a finished one) for ``seconds``; returns its history."""
    if data is not None:
        cfg = dataclasses.replace(cfg, data=data)
    if runtime is not None:
        cfg = dataclasses.replace(cfg, runtime=runtime)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=0, max_minutes=seconds / 60.0,
                                                             probe_every=0, probe_seconds=max(seconds / 12.0, 2.0), grid_every=0))
    if overwrite or not _finished(run_dir):
        T.train(cfg, run_dir, overwrite=True, data_dir=data_dir, download_missing=download_missing, preset_name=preset, probe=probe)
    return rundir.read_json(run_dir / rundir.HISTORY)


def summarize(hist: dict, target: float = 8.0) -> dict[str, Any]:
    """Convergence (time to probe IS >= target) and stability (spread over the last third)."""
    probes = hist.get("probe", [])
    total = hist["train_seconds"][-1] if hist["train_seconds"] else 0.0
    late_probes = [p for p in probes if p["train_seconds"] >= 2 * total / 3] or probes[-1:]
    late = [p["is"] for p in late_probes]
    third = max(1, len(hist["step"]) // 3)
    d_late, g_late = np.asarray(hist["d_loss"][-third:], float), np.asarray(hist["g_loss"][-third:], float)
    last = probes[-1] if probes else {}
    return {
        "loss": hist.get("loss"),
        "steps": hist["step"][-1] if hist["step"] else 0,
        "train_seconds": total,
        "time_to_is_target": next((p["train_seconds"] for p in probes if p["is"] >= target), None),
        "is_target": target,
        "final_is": last.get("is"),
        "best_is": max((p["is"] for p in probes), default=None),
        "final_modes": last.get("modes"),
        "final_class_kl": last.get("class_kl"),
        "probe_n": last.get("n"),
        "is_spread_last_third": float(np.std(late)) if late else None,
        # the spread about a straight-line trend: a curve still rising steadily is not "unstable"
        "is_wobble_last_third": _detrended_std([p["train_seconds"] for p in late_probes], late),
        "d_loss_std_last_third": float(d_late.std()) if len(d_late) else None,
        "g_loss_std_last_third": float(g_late.std()) if len(g_late) else None,
        # step-to-step jitter of the D loss relative to its level: the "oscillation"
        "d_loss_jitter_last_third": float(np.abs(np.diff(d_late)).mean()) if len(d_late) > 1 else None,
    }


def _detrended_std(t: Sequence[float], y: Sequence[float]) -> float | None:
    """Standard deviation of ``y`` about its least-squares line in ``t`` (None below 3 points)."""
    if len(y) < 3:
        return None
    t_arr, y_arr = np.asarray(t, float), np.asarray(y, float)
    slope, intercept = np.polyfit(t_arr, y_arr, 1)
    return float(np.std(y_arr - (slope * t_arr + intercept)))


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown_table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(_fmt(r.get(key)) for key, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def compare_losses(out: str | Path, *, preset: str = "fast", minutes: float = 6.0, losses: Sequence[str] = LOSSES,
                   data: DataConfig | None = None, runtime: RuntimeConfig | None = None, data_dir=None,
                   download_missing: bool = True, overwrite: bool = False, probe: Any = "default") -> dict:
    """Train ``preset`` with each loss for ``minutes / len(losses)`` and compare them."""
    if minutes <= 0:
        raise MnistgenError("compare-losses needs a positive --minutes budget")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    histories, rows = {}, []
    for loss in losses:
        cfg = T.configure(preset, loss)
        histories[loss] = _run(cfg, out / loss, 60.0 * minutes / len(losses), preset, data=data, runtime=runtime, data_dir=data_dir,
                               download_missing=download_missing, overwrite=overwrite, probe=probe)
        rows.append(summarize(histories[loss]) | {"run_dir": str(out / loss)})
    columns = [("loss", "loss"), ("steps", "G steps"), ("train_seconds", "train s"), ("time_to_is_target", "s to IS ≥ 8"),
               ("final_is", "final IS"), ("best_is", "best IS"), ("final_modes", "modes"), ("final_class_kl", "class-KL"),
               ("is_spread_last_third", "IS std (last ⅓)"), ("is_wobble_last_third", "IS std about trend (last ⅓)"),
               ("d_loss_std_last_third", "D-loss std (last ⅓)"),
               ("d_loss_jitter_last_third", "D-loss jitter (last ⅓)")]
    n = rows[0].get("probe_n")
    md = (f"### Cross-entropy vs Wasserstein ({preset} preset, {minutes / len(losses):.1f} min each, probe IS at n = {n})\n\n"
          + markdown_table(rows, columns) + "\n")
    figures = [
        plot_losses(histories, out / "losses.png", f"GAN losses by loss type ({preset} preset)"),
        plot_quality_vs_time(histories, out / "quality_vs_time.png", f"Sample quality vs training time ({preset} preset)", target=8.0),
        save_loss_grids({loss: out / loss for loss in losses}, out / "samples.png", f"Final samples by loss ({preset} preset)"),
    ]
    result = {"preset": preset, "minutes": minutes, "rows": rows, "figures": [str(f) for f in figures], "markdown": md}
    rundir.write_json(out / "compare_losses.json", result)
    rundir.atomic_write(out / "compare_losses.md", lambda fh: fh.write(md), mode="w")
    return result


def capacity_config(width: int, base: str = "tiny") -> T.GANRunConfig:
    """The ``base`` preset with a generator of channels (2*width, width); the discriminator is unchanged."""
    cfg = T.configure(base)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, g_channels=(2 * width, width)))


def capacity_sweep(out: str | Path, *, widths: Sequence[int] | None = None, minutes: float = 4.0, base: str = "tiny",
                   data: DataConfig | None = None, runtime: RuntimeConfig | None = None, data_dir=None,
                   download_missing: bool = True, overwrite: bool = False, probe: Any = "default") -> dict:
    """Generators of increasing width against one fixed discriminator, ``minutes / len(widths)`` each."""
    widths = sorted(set(widths or DEFAULT_WIDTHS))
    if minutes <= 0 or not widths or min(widths) < 1:
        raise MnistgenError("sweep gan-capacity needs a positive --minutes budget and widths >= 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in widths:
        cfg = capacity_config(w, base)
        g, d = build(cfg.model)
        run_dir = out / f"width{w}"
        hist = _run(cfg, run_dir, 60.0 * minutes / len(widths), base, data=data, runtime=runtime, data_dir=data_dir,
                    download_missing=download_missing, overwrite=overwrite, probe=probe)
        s = summarize(hist)
        rows.append({"width": w, "g_channels": list(cfg.model.g_channels), "g_params": count_params(g), "d_params": count_params(d),
                     "steps": s["steps"], "is": s["final_is"], "modes": s["final_modes"], "class_kl": s["final_class_kl"],
                     "probe_n": s["probe_n"], "run_dir": str(run_dir)})
    columns = [("width", "width"), ("g_params", "G params"), ("d_params", "D params"), ("steps", "G steps"),
               ("is", "IS"), ("modes", "modes"), ("class_kl", "class-KL")]
    md = (f"### Generator capacity vs mode collapse (discriminator of the `{base}` preset fixed, "
          f"{minutes / len(widths):.1f} min each, IS at n = {rows[0]['probe_n']})\n\n" + markdown_table(rows, columns) + "\n")
    figures = [plot_capacity(rows, out / "capacity.png", f"Generator capacity vs quality ({base} discriminator)"),
               save_collapse_grid(Path(rows[0]["run_dir"]), Path(rows[-1]["run_dir"]), out / "collapse.png",
                                  f"width {rows[0]['width']} vs width {rows[-1]['width']}")]
    result = {"base": base, "minutes": minutes, "rows": rows, "figures": [str(f) for f in figures], "markdown": md}
    rundir.write_json(out / "capacity_sweep.json", result)
    rundir.atomic_write(out / "capacity_sweep.md", lambda fh: fh.write(md), mode="w")
    return result


def truncate(hist: dict, seconds: float) -> dict:
    """A GAN history cut at ``seconds`` of training: compares runs over the same time window."""
    keep = sum(1 for t in hist["train_seconds"] if t <= seconds + 1e-9)
    out = {k: v[:keep] if isinstance(v, list) and len(v) == len(hist["train_seconds"]) else v for k, v in hist.items()}
    out["probe"] = [p for p in hist.get("probe", []) if p["train_seconds"] <= seconds + 1e-9]
    return out


def loss_comparison(runs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Finished runs of one preset with different losses (``{loss: run_dir}``), judged over the same training-time window:
    the table, and figures with captions computed from it."""
    if len(runs) < 2:
        raise MnistgenError("fewer than two of the loss runs finished: nothing to compare")
    full = {k: rundir.read_json(v / rundir.HISTORY) for k, v in runs.items()}
    window = min(h["train_seconds"][-1] for h in full.values() if h["train_seconds"])
    hists = {k: truncate(h, window) for k, h in full.items()}
    rows = [summarize(h) for h in hists.values()]
    out.mkdir(parents=True, exist_ok=True)
    fastest = min((r for r in rows if r["time_to_is_target"] is not None), key=lambda r: r["time_to_is_target"], default=None)
    wobble = "is_wobble_last_third" if all(r["is_wobble_last_third"] is not None for r in rows) else "is_spread_last_third"
    steadiest = min(rows, key=lambda r: r[wobble] if r[wobble] is not None else float("inf"))
    speed = (f"{fastest['loss']} reaches IS 8 first ({fastest['time_to_is_target']:.0f} s)" if fastest
             else "no loss reaches IS 8 in this window")
    figures = [
        (plot_losses(hists, out / "losses.png", "GAN losses by loss type (fast preset)"),
         "Discriminator/critic and generator losses per step (moving average), one panel per loss; the Wasserstein "
         "panels also show the critic's estimate of the Wasserstein distance."),
        (plot_quality_vs_time(hists, out / "quality_vs_time.png", "Sample quality vs training time (fast preset)", target=8.0),
         f"Probe Inception Score and classes covered against training seconds, every loss over the same "
         f"{window:.0f} s window: {speed}; {steadiest['loss']} is the steadiest over the last third "
         f"(IS std {'about its trend ' if wobble == 'is_wobble_last_third' else ''}{steadiest[wobble] or 0:.3f})."),
        (save_loss_grids(runs, out / "samples.png", "Final samples by loss (fast preset)"),
         "Final samples of each loss's run (EMA generator) after its whole budget, not the common window: "
         + ", ".join(f"{k} {h['train_seconds'][-1]:.0f} s" for k, h in full.items()) + " of training."),
    ]
    headers = ["loss", "G steps", "train s", "s to IS ≥ 8", "final IS", "best IS", "modes", "class-KL", "IS std (last ⅓)",
               "IS std about trend (last ⅓)", "D-loss std (last ⅓)", "D-loss jitter (last ⅓)"]
    keys = ["loss", "steps", "train_seconds", "time_to_is_target", "final_is", "best_is", "final_modes", "final_class_kl",
            "is_spread_last_third", "is_wobble_last_third", "d_loss_std_last_third", "d_loss_jitter_last_third"]
    table = {"headers": headers, "rows": [[r.get(k) for k in keys] for r in rows]}
    return {"window_seconds": window, "rows": rows, "table": table, "probe_n": rows[0].get("probe_n"), "figures": figures}
