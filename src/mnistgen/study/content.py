"""What the study report says, assembled from what the stages returned: the header, the comparison table
(one row per scored model, the original study's figures beside ours), each section's figures and tables
in stage order, and the environment and timings. Nothing here names a stage or a figure file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECTIONS = {  # section key (Stage.section) -> heading; in report order
    "comparison": "1. Quantitative and qualitative comparison",
    "vae": "2. Variational autoencoder",
    "gan": "3. GAN",
}
HEADERS = ["samples", "original IS (n)", "IS, n = 500", "IS, n = N", "N", "FID", "KID", "precision", "recall", "modes ≥ 1 %",
           "class-KL"]


def _pm(mean: Any, std: Any) -> str:
    return "–" if mean is None else f"{mean:.2f} ± {std:.2f}"


def metrics_row(label: str, m: dict, original: dict | None) -> list[Any]:
    orig = f"{original['is_mean']:.2f} ± {original['is_std']:.2f} ({original['n']:,})" if original else ""
    return [label, orig, _pm(m.get("is_500_mean"), m.get("is_500_std")), _pm(m.get("is_mean"), m.get("is_std")), m.get("n"),
            m.get("fid"), m.get("kid_mean"), m.get("precision"), m.get("recall"), m.get("modes"), m.get("class_kl")]


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


def _header(state: dict) -> list[tuple]:
    env = state.get("environment", {})
    return [
        ("h1", "mnistgen study report"),
        ("p", f"Dataset **{state.get('dataset', 'mnist')}** ({state.get('data_info', {}).get('source', '?')}), profile "
              f"**{state.get('profile')}**, seed {state.get('seed')}, device {env.get('device', '?')}, total wall time "
              f"{state.get('wall_seconds', 0) / 60:.1f} min. Every model is scored on N = {state.get('n')} samples with a "
              "classifier of the dataset in place of InceptionV3 (IS; maximum 10) and in its penultimate-layer feature space "
              "(FID, KID against the test split; precision/recall with k = 3 nearest-neighbour manifolds)."),
    ]


def build_blocks(out: Path, state: dict, original: dict) -> list[tuple]:
    done = _done(state)
    rows = [metrics_row(r["row"]["label"], r["metrics"], original.get(r["row"].get("original")))
            for _, _, r in done if "metrics" in r and "row" in r]
    blocks = _header(state) + [
        ("h2", SECTIONS["comparison"]),
        ("p", "The original study's Inception Score (mean ± std over 10 splits) beside ours. IS falls with fewer "
              "samples per split, so it is given both at the original's n = 500 and at N. Lower FID/KID and class-KL are "
              "better; precision is sample fidelity, recall is coverage of the real data."),
        ("table", HEADERS, rows),
    ]
    for key, heading in SECTIONS.items():
        section = [b for name, s, r in done if s.get("section") == key for b in _blocks(out, r)]
        if key != "comparison" and section:
            blocks.append(("h2", heading))
        blocks += section
    env = state.get("environment", {})
    blocks += [("h2", "4. Environment and timings"), ("table", ["what", "value"], [[k, v] for k, v in env.items()]),
               ("table", ["stage", "status", "budget min", "wall s", "note"],
                [[name, s.get("status"), round(s.get("budget_minutes", 0) or 0, 2), round(s.get("seconds", 0) or 0, 1),
                  s.get("error") or s.get("reason") or ""] for name, s in state.get("stages", {}).items()])]
    return blocks
