"""The documents a reader starts from: the README stays short, every link stays inside the repository and leads to a
file that exists, and the documents speak of the project, not of how it was built."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "DEVELOPING.md", ROOT / "bench" / "RESULTS.md", *(ROOT / "docs").glob("*.md")]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def links(path: Path) -> list[str]:
    return LINK.findall(path.read_text(encoding="utf-8"))


def test_readme_is_a_front_door_with_both_commands_on_its_first_screen():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150
    first_screen = "\n".join(lines[:30])
    assert "make study" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")  # CI runs what the README says


def test_every_link_stays_inside_the_repository_and_exists():
    for doc in DOCS:
        for target in links(doc):
            assert "://" not in target, f"{doc.name} links outside the repository: {target}"
            path = target.split("#")[0]
            if path:
                assert (doc.parent / path).resolve().is_file(), f"{doc.name}: broken link {target}"


def test_documents_speak_of_the_project_not_of_sessions():
    for doc in DOCS:
        words = re.findall(r"\bsessions?\b", doc.read_text(encoding="utf-8"), flags=re.IGNORECASE)
        assert not words, f"{doc.name} speaks of sessions"


def test_link_check_catches_a_broken_and_an_outside_link(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("see [a](missing.md) and [b](https://example.org) and [c](x.md#top)", encoding="utf-8")
    assert links(doc) == ["missing.md", "https://example.org", "x.md#top"]
