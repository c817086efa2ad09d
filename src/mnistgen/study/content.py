"""What the study report says, assembled from the units' typed results: the header (dataset, seeds, evaluator,
machine), the comparison table (every score as a mean with its 95 % interval over the seeds), the phenomena as "k of n
seeds", each section's figures (from the first seed) and tables, the work and time of every unit, and the per-seed
scores. Nothing here names a stage, a family or a figure file."""

from __future__ import annotations

from collections.abc import Sequence

from mnistgen.datasets import DatasetInfo, describe
from mnistgen.stagekit import Block, Figure, Heading, Section, Stage, Table, Text
from mnistgen.study.aggregate import Tally, claims, shown_by, tallies, tally_sentence
from mnistgen.study.stages import COMPARISON, sections
from mnistgen.study.state import StudyState, UnitRecord, seed_words
from mnistgen.study.tables import appendix, comparison


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
        _scoring(state, ev, info),
    ]


def _scoring(state: StudyState, ev: str, info: DatasetInfo) -> Text:
    """How every model is scored."""
    if info.stacked:
        return Text(
            f"Every model's samples (N in the table) are {info.items}: each channel is classified by {ev}, and the "
            "three digits name one of 1,000 modes. Its feature layer gives each channel's FID and precision/recall "
            "against the test digits. The original study measured MNIST only; the mode-collapse benchmark is "
            "Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN)."
        )
    return Text(
        f"Every model is scored on N = {state.n:,} samples by {ev}: its softmax gives the Inception Score "
        "(maximum 10; the images in a seeded random order before the 10 splits) and the class coverage, its "
        "feature layer FID, KID, precision/recall (k = 3) and density/coverage (k = 5) against the test split. KID "
        "is unbiased, so a value slightly below 0 means no detectable difference. The original study is described "
        "in `docs/original-study.md` of the mnistgen repository."
    )


def _phenomena(state: StudyState, found: list[Tally], info: DatasetInfo) -> list[Block]:
    if not found:
        return []
    what = "question of the mode-collapse benchmark" if info.stacked else "phenomenon of the original study"
    seeds = list(state.seeds)
    rows = tuple(
        (t.title, t.words(), t.measure_words() or "–", *(t.per_seed[s][1] if s in t.per_seed else "–" for s in seeds))
        for t in found
    )
    intro = (
        f"Each {what}, asked of every training seed: in how many it holds, and what each "
        "seed showed. The figures below come from the first seed; their captions say how many seeds agree."
    )
    return [
        Heading(2, "Phenomena across seeds"),
        Text(intro),
        Table(("phenomenon", "holds in", "its numbers over the seeds", *(f"seed {s}" for s in seeds)), rows),
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
        notes = [r.error or ("cut short by the --minutes cap" if cut else "")]
        notes += [f"started {r.attempts} times (a worker was lost, or the study was interrupted)"] * (r.attempts > 1)
        note = "; ".join(n for n in notes if n)
        rows.append((r.stage, r.seed, r.status, work, round(r.seconds, 1), note))
    return Table(("stage", "seed", "status", "work done", "wall s", "note"), tuple(rows))


def build_blocks(state: StudyState, records: Sequence[UnitRecord], stages: Sequence[Stage]) -> list[Block]:
    """The report: header, comparison, phenomena, then every section the stages declare (in their order) that has
    blocks, the work and environment, and the per-seed appendix."""
    info = describe(state.dataset)
    found = tallies(records, info, claims(stages))
    section_of = {s.name: s.section.key for s in stages}
    blocks = _header(state, records, info) + [Heading(2, COMPARISON.title)] + comparison(state, records, info)
    blocks += _section_blocks(state, records, found, COMPARISON, section_of) + _phenomena(state, found, info)
    for section in sections(stages):
        if section.order <= COMPARISON.order:
            continue
        shown = _section_blocks(state, records, found, section, section_of)
        blocks += [Heading(2, section.title), *shown] if shown else []
    env_rows = tuple((k, v) for k, v in state.environment.items())
    blocks += [Heading(2, "Work, time and environment"), _work_table(records), Table(("what", "value"), env_rows)]
    return blocks + appendix(state, records, info)
