"""What the study report says, assembled from the units' typed results: the header (dataset, seeds, evaluator,
machine), the comparison table (every score as a mean with its 95 % interval over the seeds), the phenomena as "k of n
seeds", each section's figures (from the first seed) and tables, the work and time of every unit, and the per-seed
scores. Nothing here names a stage, a family or a figure file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistgen.datasets import DatasetInfo, describe
from mnistgen.stagekit import Block, Figure, Heading, ModelResult, Section, Stage, Table, Text
from mnistgen.study.aggregate import Tally, claims, models, score_spreads, shown_by, tallies, tally_sentence
from mnistgen.study.stages import COMPARISON, sections
from mnistgen.study.state import StudyState, UnitRecord, seed_words

HEADERS = (
    "samples",
    "IS, n = 500",
    "IS, n = N",
    "N",
    "FID",
    "KID ×10³",
    "precision",
    "recall",
    "density",
    "coverage",
    "modes ≥ 1 %",
    "class-KL",
)


def stage_seconds(state: StudyState) -> float:
    """The units' wall time summed: the study's time, also when it ran over several (resumed) calls."""
    return sum(r.seconds for r in state.units.values())


def _header(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    env = state.environment
    found = (r.outcome.evaluator.text for r in records if r.outcome is not None and r.outcome.evaluator is not None)
    ev = next(found, "the dataset's evaluator")
    n_seeds = len(state.seeds)
    seeds = f"seed {state.seeds[0]}" if n_seeds == 1 else f"{n_seeds} training seeds ({seed_words(state.seeds)})"
    return [
        Heading(1, f"mnistgen study report: {info.title}"),
        Text(
            f"Dataset **{info.title}** ({state.data_info.get('source', '?')}), profile **{state.profile}**, {seeds}, "
            f"{state.threads} threads per unit, {state.kernels} kernels; {stage_seconds(state) / 60:.1f} min of unit "
            f"wall time on {env.get('cpu', '?')} (flags: {env.get('cpu_flags', '?')}; device {env.get('device', '?')}, "
            "fp32)."
        ),
        Text(
            f"Every model is scored on N = {state.n:,} samples by {ev}: its softmax gives the Inception Score "
            "(maximum 10; the images in a seeded random order before the 10 splits) and the class coverage, its "
            "feature layer FID, KID, precision/recall (k = 3) and density/coverage (k = 5) against the test split. KID "
            "is unbiased, so a value slightly below 0 means no detectable difference. The original study is described "
            "in `docs/original-study.md` of the mnistgen repository."
        ),
    ]


def _cell(m: ModelResult) -> list[Any]:
    s = m.scores
    return [
        f"{s.is_500_mean:.2f} ± {s.is_500_std:.2f}",
        f"{s.is_mean:.2f} ± {s.is_std:.2f}",
        s.n,
        s.fid,
        f"{1e3 * s.kid_mean:.2f} ± {1e3 * s.kid_std:.2f}",
        s.precision,
        s.recall,
        s.density,
        s.coverage,
        s.modes,
        s.class_kl,
    ]


def _spread_cells(per_seed: dict[int, ModelResult]) -> list[Any]:
    sp = score_spreads(per_seed)
    first = next(iter(per_seed.values())).scores
    kid = sp["kid_mean"]
    kid_words = f"{1e3 * kid.mean:.2f}" + (f" ± {1e3 * kid.ci95:.2f}" if kid.ci95 is not None else "")
    return [
        sp["is_500_mean"].words(),
        sp["is_mean"].words(),
        first.n,
        sp["fid"].words(),
        kid_words,
        *(sp[k].words(3) for k in ("precision", "recall", "density", "coverage")),
        sp["modes"].words(1),
        sp["class_kl"].words(3),
    ]


def _comparison(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    by_model, original = models(records), info.original
    rows = []
    for per_seed in by_model.values():
        m = next(iter(per_seed.values()))
        cells = _cell(m) if len(state.seeds) == 1 else _spread_cells(per_seed)
        orig = (original or {}).get(m.original or "")
        extra = [f"{orig['is_mean']:.2f} ± {orig['is_std']:.2f} ({orig['n']:,})" if orig else ""] if original else []
        rows.append((m.label, *extra, *cells))
    headers = HEADERS[:1] + (("original IS (n)",) if original else ()) + HEADERS[1:]
    note = (
        "The original study's Inception Score (mean ± std over 10 splits, on MNIST) beside ours. "
        if original
        else "The original study measured MNIST only, so no original figures stand beside these. "
    )
    if len(state.seeds) > 1:
        how = (
            f"Each score is the mean over {len(state.seeds)} training seeds ± the half-width of its 95 % confidence "
            "interval (Student's t); the per-seed values are in the appendix. "
        )
    else:
        how = "One training seed: no interval over seeds (IS and KID carry their spread over splits and subsets). "
    text = (
        "IS falls with fewer samples per split, so it is given at the original's n = 500 and at N. Lower FID, KID "
        "and class-KL are better; precision and density measure fidelity, recall and coverage diversity."
    )
    blocks: list[Block] = [Text(note + how + text), Table(headers, tuple(rows))]
    return blocks + _histograms(by_model, info)


def _histograms(by_model: dict[str, dict[int, ModelResult]], info: DatasetInfo) -> list[Block]:
    rows = []
    for per_seed in by_model.values():
        hists = [m.scores.class_histogram for m in per_seed.values()]
        mean = [sum(h[k] for h in hists) / len(hists) for k in range(len(hists[0]))]
        rows.append((next(iter(per_seed.values())).label, *(f"{100 * h:.1f}" for h in mean)))
    if not rows:
        return []
    return [
        Text(
            "Where the samples land: the share (%) of each model's samples that the classifier assigns to each "
            "class (averaged over the seeds)."
        ),
        Table(("samples", *info.classes), tuple(rows)),
    ]


def _phenomena(state: StudyState, found: list[Tally]) -> list[Block]:
    if not found:
        return []
    seeds = list(state.seeds)
    rows = tuple((t.title, t.words(), *(t.per_seed[s][1] if s in t.per_seed else "–" for s in seeds)) for t in found)
    intro = (
        "Each phenomenon of the original study, asked of every training seed: in how many it holds, and what each "
        "seed showed. The figures below come from the first seed; their captions say how many seeds agree."
    )
    return [
        Heading(2, "Phenomena across seeds"),
        Text(intro),
        Table(("phenomenon", "holds in", *(f"seed {s}" for s in seeds)), rows),
    ]


def _with_tally(block: Block, found: list[Tally], seed: int, n_seeds: int) -> Block:
    if not isinstance(block, Figure) or n_seeds == 1:
        return block
    agree = " ".join(tally_sentence(t) for t in shown_by(block.shows, found)) if block.shows else ""
    return Figure(block.path, f"Seed {seed}: {block.caption}" + (f" {agree}" if agree else ""), block.shows)


def _section_blocks(
    state: StudyState, records: Sequence[UnitRecord], found: list[Tally], section: Section, section_of: dict[str, str]
) -> list[Block]:
    first = state.seeds[0]
    return [
        _with_tally(b, found, first, len(state.seeds))
        for r in records
        if r.seed == first and r.outcome is not None and section_of.get(r.stage) == section.key
        for b in r.outcome.blocks
    ]


def _work_table(records: Sequence[UnitRecord]) -> Table:
    rows = []
    for r in records:
        m = r.outcome.model if r.outcome is not None else None
        work = m.work.detail if m is not None and m.work is not None else (r.outcome.note if r.outcome else "")
        cut = m is not None and m.work is not None and m.work.cut_short
        note = r.error or ("cut short by the --minutes cap" if cut else "")
        rows.append((r.stage, r.seed, r.status, work, round(r.seconds, 1), note))
    return Table(("stage", "seed", "status", "work done", "wall s", "note"), tuple(rows))


def _appendix(state: StudyState, records: Sequence[UnitRecord]) -> list[Block]:
    if len(state.seeds) < 2:
        return []
    keys = ("is_mean", "fid", "precision", "recall", "coverage", "modes")
    rows = tuple(
        (m.label, seed, *(getattr(m.scores, k) for k in keys))
        for per_seed in models(records).values()
        for seed, m in per_seed.items()
    )
    return [
        Heading(2, "Appendix: scores per seed"),
        Table(("samples", "seed", "IS, n = N", "FID", "precision", "recall", "coverage", "modes ≥ 1 %"), rows),
    ]


def build_blocks(state: StudyState, records: Sequence[UnitRecord], stages: Sequence[Stage]) -> list[Block]:
    """The report: header, comparison, phenomena, then every section the stages declare (in their order) that has
    blocks, the work and environment, and the per-seed appendix."""
    info = describe(state.dataset)
    found = tallies(records, info, claims(stages))
    section_of = {s.name: s.section.key for s in stages}
    blocks = _header(state, records, info) + [Heading(2, COMPARISON.title)] + _comparison(state, records, info)
    blocks += _section_blocks(state, records, found, COMPARISON, section_of) + _phenomena(state, found)
    for section in sections(stages):
        if section.order <= COMPARISON.order:
            continue
        shown = _section_blocks(state, records, found, section, section_of)
        blocks += [Heading(2, section.title), *shown] if shown else []
    env_rows = tuple((k, v) for k, v in state.environment.items())
    blocks += [Heading(2, "Work, time and environment"), _work_table(records), Table(("what", "value"), env_rows)]
    return blocks + _appendix(state, records)
