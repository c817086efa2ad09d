"""The study's outputs: ``metrics.json``, ``report.md`` and a self-contained ``report.html``.

The report is built once as a list of typed blocks (headings, paragraphs, tables, figures) and rendered to Markdown
(figures linked relatively) and to HTML (figures embedded as base64, so the one file can be shared).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnistgen.datasets import describe
from mnistgen.rundir import atomic_write, write_json
from mnistgen.stagekit import Block, Figure, Heading, Stage, Table, Text, encode
from mnistgen.study.aggregate import claims, models, score_spreads, tallies
from mnistgen.study.content import build_blocks
from mnistgen.study.state import StudyState, UnitRecord

METRICS_VERSION = 2


def collect_metrics(state: StudyState, records: Sequence[UnitRecord], stages: Sequence[Stage]) -> dict[str, Any]:
    """The content of ``metrics.json``: what the study is, the evaluator's identity, then per scored model its scores
    per seed (with the work done and whether a --minutes cap cut it short) and their mean and 95 % interval, and per
    phenomenon its outcome per seed. No timings: the same seeds give the same file."""
    found = (r.outcome.evaluator for r in records if r.outcome is not None and r.outcome.evaluator is not None)
    evaluator = next((e.identity for e in found), None)
    out: dict[str, Any] = {
        "version": METRICS_VERSION,
        "profile": state.profile,
        "dataset": state.dataset,
        "seeds": list(state.seeds),
        "threads": state.threads,
        "kernels": state.kernels,
        "evaluator": evaluator,
        "models": {},
        "phenomena": {},
    }
    for name, per_seed in models(records).items():
        first = next(iter(per_seed.values()))
        spreads = score_spreads(per_seed)
        out["models"][name] = {
            "kind": first.kind,
            "label": first.label,
            "preset": first.preset,
            "mean": {k: s.mean for k, s in spreads.items()},
            "ci95": {k: s.ci95 for k, s in spreads.items()},
            "per_seed": {
                str(seed): {
                    "run_dir": f"seed-{seed}/{m.run_dir}" if m.run_dir else None,
                    "work": dict(m.work.counts) if m.work else None,
                    "cut_short": bool(m.work and m.work.cut_short),
                }
                | m.scores.values()
                for seed, m in per_seed.items()
            },
        }
    for t in tallies(records, describe(state.dataset), claims(stages)):
        out["phenomena"][t.claim.key] = {
            "claim": t.title,
            "holds": t.k,
            "of": t.n,
            "per_seed": {str(s): {"holds": h, "outcome": w} for s, (h, w) in t.per_seed.items()},
            "measures": {k: {"mean": m.mean, "ci95": m.ci95, "values": list(m.values)} for k, m in t.measures.items()},
        }
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def first_sentence(text: str) -> str:
    """Up to the first full stop, colon or semicolon followed by a space (not the one inside "0.98") that stands
    outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch in ".:;" and depth == 0 and text[i + 1 : i + 2].isspace():
            return text[:i]
    return text.rstrip(".:;")


def render_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Text):
            lines += [b.text, ""]
        elif isinstance(b, Table):
            lines += ["| " + " | ".join(b.headers) + " |", "|" + "---|" * len(b.headers)]
            lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in b.rows] + [""]
        elif isinstance(b, Figure):
            lines += [f"![{first_sentence(b.caption)}]({b.path})", "", f"*{b.caption}*", ""]
    return "\n".join(lines)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f2f2f2}"
    "td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}"
    "figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.9em;color:#444;margin-top:.4em}"
)


def _inline(text: str) -> str:
    """Markdown-ish inline markup for HTML: `code` and **bold** only."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def render_html(blocks: Sequence[Block], out: Path, title: str) -> str:
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Text):
            body.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Figure) and (out / b.path).is_file():
            data = base64.b64encode((out / b.path).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(first_sentence(b.caption))}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_inline(b.caption)}</figcaption></figure>"
            )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(out: Path, state: StudyState, stages: Sequence[Stage]) -> dict[str, Path]:
    """Write metrics.json, report.md and report.html of the ``stages`` in ``state`` into the study directory ``out``."""
    records = state.ordered([s.name for s in stages])
    write_json(out / "metrics.json", encode(collect_metrics(state, records, stages)))
    blocks = [b for b in build_blocks(state, records, stages) if not isinstance(b, Figure) or (out / b.path).is_file()]
    md, page = render_markdown(blocks), render_html(blocks, out, "mnistgen study report")
    atomic_write(out / "report.md", lambda fh: fh.write(md), mode="w")
    atomic_write(out / "report.html", lambda fh: fh.write(page), mode="w")
    return {"metrics": out / "metrics.json", "markdown": out / "report.md", "html": out / "report.html"}
