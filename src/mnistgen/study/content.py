"""What the study report says, assembled from what the stages returned: the header (dataset, evaluator, machine),
the comparison table (one row per scored model; the original study's figures only for the dataset they were
measured on), each section's figures and tables in stage order, and the work and time of every stage.
Nothing here names a stage or a figure file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mnistgen.datasets import describe

SECTIONS = {  # section key (Stage.section) -> heading; in report order
    "comparison": "1. Quantitative and qualitative comparison",
    "vae": "2. Variational autoencoder",
    "gan": "3. GAN",
}
HEADERS = ["samples", "IS, n = 500", "IS, n = N", "N", "FID", "KID ×10³", "precision", "recall", "density", "coverage",
           "modes ≥ 1 %", "class-KL"]


def _pm(mean: Any, std: Any) -> str:
    return "–" if mean is None else f"{mean:.2f} ± {std:.2f}"


def metrics_row(label: str, m: dict, original: dict | None, with_original: bool) -> list[Any]:
    kid = None if m.get("kid_mean") is None else f"{1e3 * m['kid_mean']:.2f} ± {1e3 * m['kid_std']:.2f}"
    row = [label, _pm(m.get("is_500_mean"), m.get("is_500_std")), _pm(m.get("is_mean"), m.get("is_std")), m.get("n"), m.get("fid"),
           kid, m.get("precision"), m.get("recall"), m.get("density"), m.get("coverage"), m.get("modes"), m.get("class_kl")]
    if with_original:
        row.insert(1, f"{original['is_mean']:.2f} ± {original['is_std']:.2f} ({original['n']:,})" if original else "")
    return row


def _done(state: dict) -> list[tuple[str, dict, dict]]:
    """(name, stage state, result) of every finished stage, in the order they ran."""
    return [(name, s, s.get("result") or {}) for name, s in state.get("stages", {}).items() if s.get("status") == "done"]


def _blocks(out: Path, result: dict) -> list[tuple]:
    blocks: list[tuple] = []
    for b in result.get("blocks", []):
        if "fig" in b and (out / b["fig"]).is_file():
            blocks.append(("fig", out / b["fig"], b["caption"]))
        elif "table" in b:
            blocks.append(("table", b["table"]["headers"], b["table"]["rows"]))
        elif "text" in b:
            blocks.append(("p", b["text"]))
    return blocks


def first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space (not the one inside "0.98")."""
    return re.split(r"(?<=[.:;])\s", text, maxsplit=1)[0].rstrip(".:;")


def stage_seconds(state: dict) -> float:
    """The stages' wall time summed: the study's time, also when it ran over several (resumed) sessions."""
    return sum(float(s.get("seconds") or 0.0) for s in state.get("stages", {}).values())


def _header(state: dict) -> list[tuple]:
    env, info = state.get("environment", {}), describe(state.get("dataset", "mnist"))
    ev = next((r.get("text") for n, _, r in _done(state) if n == "evaluator"), "the dataset's evaluator (not loaded)")
    return [
        ("h1", f"mnistgen study report: {info.title}"),
        ("p", f"Dataset **{info.title}** ({state.get('data_info', {}).get('source', '?')}), profile **{state.get('profile')}**, "
              f"seed {state.get('seed')}, {stage_seconds(state) / 60:.1f} min of stage wall time on {env.get('cpu', '?')} "
              f"({env.get('torch_threads', '?')} threads, flags: {env.get('cpu_flags', '?')}; device {env.get('device', '?')}, fp32)."),
        ("p", f"Every model is scored on N = {state.get('n'):,} samples by {ev}: its softmax gives the Inception Score "
              "(maximum 10; the images in a seeded random order before the 10 splits) and the class coverage, its feature "
              "layer FID, KID, precision/recall (k = 3) and density/coverage (k = 5) against the test split. KID is unbiased, "
              "so a value slightly below 0 means no detectable difference. The original study is described in "
              "`docs/original-study.md` of the mnistgen repository."),
    ]


def _comparison_table(state: dict, original: dict | None) -> list[tuple]:
    rows = [metrics_row(r["row"]["label"], r["metrics"], (original or {}).get(r["row"].get("original")), original is not None)
            for _, _, r in _done(state) if "metrics" in r and "row" in r]
    headers = HEADERS[:1] + (["original IS (n)"] if original else []) + HEADERS[1:]
    note = ("The original study's Inception Score (mean ± std over 10 splits, on MNIST) beside ours. " if original else
            "The original study measured MNIST only, so no original figures stand beside these. ")
    return [("p", note + "IS falls with fewer samples per split, so it is given at the original's n = 500 and at N. Lower "
                  "FID, KID and class-KL are better; precision and density measure fidelity, recall and coverage diversity."),
            ("table", headers, rows)]


def _histogram_table(state: dict, classes: tuple[str, ...]) -> list[tuple]:
    """Per scored model, the share of its samples the classifier puts in each class."""
    rows = [[r["row"]["label"], *(f"{100 * h:.1f}" for h in r["metrics"]["class_histogram"])]
            for _, _, r in _done(state) if "class_histogram" in r.get("metrics", {}) and "row" in r]
    return [("p", "Where the samples land: the share (%) of each model's samples that the classifier assigns to each class."),
            ("table", ["samples", *classes], rows)] if rows else []


def _work_table(state: dict) -> tuple:
    rows = []
    for name, s in state.get("stages", {}).items():
        r = s.get("result") or {}
        w = r.get("work") or {}
        decoder = f"; then the decoder alone, {w['decoder_images']:,} images" if w.get("decoder_images") else ""
        work = (f"{w['epochs']} of ≤ {w['max_epochs']} epochs (best {w['best_epoch']}), {w['images']:,} images{decoder}" if "epochs" in w
                else f"{w['steps']:,} generator steps, {w['images']:,} images (D: {w['real_images']:,} real)" if "steps" in w else "")
        note = s.get("error") or s.get("reason") or ("cut short by the --minutes cap" if r.get("cut_short") else "")
        rows.append([name, s.get("status"), work, round(s.get("seconds", 0) or 0, 1), note])
    return ("table", ["stage", "status", "work done", "wall s", "note"], rows)


def build_blocks(out: Path, state: dict) -> list[tuple]:
    done, info = _done(state), describe(state.get("dataset", "mnist"))
    blocks = (_header(state) + [("h2", SECTIONS["comparison"])] + _comparison_table(state, info.original)
              + _histogram_table(state, info.classes))
    for key, heading in SECTIONS.items():
        section = [b for _, s, r in done if s.get("section") == key for b in _blocks(out, r)]
        if key != "comparison" and section:
            blocks.append(("h2", heading))
        blocks += section
    env = state.get("environment", {})
    blocks += [("h2", "4. Work, time and environment"), _work_table(state),
               ("table", ["what", "value"], [[k, v] for k, v in env.items()])]
    return blocks
