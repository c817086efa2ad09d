"""The study's outputs: ``metrics.json``, ``report.md`` and a self-contained ``report.html``.

The report is built once as a list of blocks (headings, paragraphs, tables, figures) and rendered
to Markdown (figures linked relatively) and to HTML (figures embedded as base64, so the one file can
be shared).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from mnistgen.rundir import atomic_write, write_json
from mnistgen.study.content import build_blocks, first_sentence

METRIC_KEYS = ("is_mean", "is_std", "is_500_mean", "is_500_std", "n", "n_500", "fid", "kid_mean", "kid_std", "precision",
               "recall", "density", "coverage", "modes", "class_kl", "max_prob", "class_histogram")


def collect_metrics(state: dict[str, Any]) -> dict[str, Any]:
    """The content of ``metrics.json``: the evaluator's identity, then one entry per scored model plus ``real`` — scores,
    the work done and whether a --minutes cap cut it short. No timings: the same seed gives the same file."""
    out: dict[str, Any] = {}
    for name, stage in state.get("stages", {}).items():
        result = stage.get("result") or {}
        if stage.get("status") != "done":
            continue
        if "identity" in result:
            out["evaluator"] = result["identity"]
        if "metrics" in result:
            out[name] = {"kind": name.split("-", 1)[0], "run_dir": result.get("run_dir"), "preset": result.get("preset"),
                         "work": result.get("work"), "cut_short": bool(result.get("cut_short"))} | {
                k: result["metrics"][k] for k in METRIC_KEYS if k in result["metrics"]}
    return out


# ------------------------------------------------------------------------- rendering


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_markdown(blocks: list[tuple], out: Path) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + block[1], ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "table":
            headers, rows = block[1], block[2]
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "---|" * len(headers))
            lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif kind == "fig":
            path, caption = Path(block[1]), block[2]
            lines += [f"![{first_sentence(caption)}]({path.relative_to(out).as_posix()})", "", f"*{caption}*", ""]
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.9em;color:#444;margin-top:.4em}"""


def render_html(blocks: list[tuple], out: Path, title: str) -> str:
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "fig":
            path, caption = Path(block[1]), block[2]
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            alt = html.escape(first_sentence(caption))
            body.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{_inline(caption)}</figcaption></figure>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _inline(text: str) -> str:
    """Markdown-ish inline markup for HTML: `code` and **bold** only."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def write_report(out: Path, state: dict[str, Any]) -> dict[str, Path]:
    """Write metrics.json, report.md and report.html into the study directory ``out``."""
    metrics = collect_metrics(state)
    write_json(out / "metrics.json", metrics)
    blocks = build_blocks(out, state)
    md = render_markdown(blocks, out)
    page = render_html(blocks, out, "mnistgen study report")
    atomic_write(out / "report.md", lambda fh: fh.write(md), mode="w")
    atomic_write(out / "report.html", lambda fh: fh.write(page), mode="w")
    return {"metrics": out / "metrics.json", "markdown": out / "report.md", "html": out / "report.html"}
