"""Every file the repository's Markdown pages name exists in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Markdown links, and file names in backticks with an extension of the files this repository holds.
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
NAMED = re.compile(r"`([A-Za-z0-9_.][A-Za-z0-9_./-]*\.(?:md|py|yml|yaml|txt|json|csv|sql|toml|cfg|ini|sh))`")
# Files the pages name that are not the repository's: written by the user or inside a container image.
NOT_OURS = {
    "config.json",  # the tap's config file a user writes (tap-oracle-wms/README.md)
    "healthcheck.sh",  # the Oracle image's own script (docker/README.md)
}


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return listed.stdout.split()


def missing_references(page: str, text: str, tracked: set[str]) -> list[str]:
    """What `page` names that does not exist: a path relative to the page or to the repository root, or
    a bare file name no tracked file has."""
    names = {Path(path).name for path in tracked}
    found = []
    for match in [*LINK.finditer(text), *NAMED.finditer(text)]:
        ref = match.group(1)
        if re.match(r"^[a-z]+:", ref) or "<" in ref or "*" in ref or ref in NOT_OURS:
            continue
        if "/" not in ref.rstrip("/") and ref.rstrip("/") in names:
            continue
        candidates = [(REPO / page).parent / ref, REPO / ref]
        if not any(candidate.exists() for candidate in candidates):
            found.append(ref)
    return found


def test_every_file_a_page_names_exists() -> None:
    tracked = _tracked()
    pages = [path for path in tracked if path.endswith(".md")]
    problems = {}
    for page in filter(lambda page: (REPO / page).exists(), pages):
        if refs := missing_references(page, (REPO / page).read_text(), set(tracked)):
            problems[page] = refs
    assert problems == {}


def test_a_page_naming_a_deleted_file_is_caught() -> None:
    tracked = set(_tracked())
    text = "See `bench/notes/tap.md`, [the notes](bench/notes/mapper.md); `tools/hub_definitions.py` exists."
    assert missing_references("README.md", text, tracked) == ["bench/notes/mapper.md", "bench/notes/tap.md"]
