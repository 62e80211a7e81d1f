"""The docs: the site builds strictly, the README stays short, links resolve, and every page speaks of the project only."""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO

MKDOCS = BIN / "mkdocs"
README = REPO / "README.md"
TROUBLESHOOTING = REPO / "TROUBLESHOOTING.md"  # at the root, where the user guide links it; also a page of the site
README_MAX_LINES = 220
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# first person singular: the project speaks of itself ("we" and "our" are fine)
FIRST_PERSON = re.compile(r"\bI\b|\b[Mm]y\b")
# lab-notebook phrases: the text says what the project does, not who did what when
NOTEBOOK = re.compile(r"the issue|issue's cap|I repeated|short checks of mine|\bsessions?\b", re.IGNORECASE)
# inline links and images: [text](target), ![alt](target)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """``text`` without code (fenced blocks, inline spans) and HTML comments: what a reader reads as sentences.

    Code is left out because it quotes tags (``I-PER``) and commands, not the project's voice.
    """
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _pages() -> list[Path]:
    return [README, TROUBLESHOOTING, *PAGES]


def test_the_docs_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: no broken link or anchor, no page left out of the nav (mkdocs.yml's validation)."""
    if not MKDOCS.is_file():
        pytest.skip(f"mkdocs is not installed in {BIN}: `pip install mkdocs mkdocs-material` to build the docs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    for page in PAGES:
        built = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert built.is_file(), f"{page.name} was not built"


def test_the_readme_is_short():
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): move the detail into docs/"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_pages_speak_of_the_project_only(page: Path):
    prose = _prose(page.read_text())
    found = [
        " ".join(prose[max(0, match.start() - 40) : match.end() + 40].split())
        for pattern in (FIRST_PERSON, NOTEBOOK)
        for match in pattern.finditer(prose)
    ]
    assert not found, f"{page.name}: first person or lab-notebook phrases (code and comments left out): {found}"


def test_the_page_checks_can_fail():
    assert FIRST_PERSON.search(_prose("Then I ran it again.")) and FIRST_PERSON.search(_prose("My checks"))
    assert NOTEBOOK.search(_prose("within the issue's cap of 3")) and NOTEBOOK.search(_prose("in the session that built it"))
    assert not FIRST_PERSON.search(_prose("Tags `I-PER`, i.e. names, and\n```\nI = 1\n```\n<!-- I -->"))
    assert _slugify("Reproducibility: `dvc.lock`") == "reproducibility-dvclock"
    assert _slugify("Earlier results: 1 epoch, before the SST-2 dev split") == "earlier-results-1-epoch-before-the-sst-2-dev-split"


def _slugify(heading: str) -> str:
    """The anchor Python-Markdown's toc (mkdocs) gives a heading: ``Reproducibility: `dvc.lock` `` -> ``reproducibility-dvclock``."""
    text = unicodedata.normalize("NFKD", re.sub(r"[`*]", "", heading)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def _heading_anchors(page: Path) -> set[str]:
    """The anchors of a page's headings."""
    text = _prose_links(page.read_text())
    return {_slugify(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE)}


def troubleshooting_page() -> str:
    """docs/troubleshooting.md: TROUBLESHOOTING.md with its links made relative to docs/."""
    return TROUBLESHOOTING.read_text().replace("](docs/", "](")


def test_the_troubleshooting_page_is_troubleshooting_md():
    page = DOCS / "troubleshooting.md"
    if os.environ.get("MTL_WRITE_DOCS"):
        page.write_text(troubleshooting_page())
    assert page.read_text() == troubleshooting_page(), "edit TROUBLESHOOTING.md, then: MTL_WRITE_DOCS=1 pytest tests/test_docs.py -k troubleshooting"


# what TROUBLESHOOTING.md must cover: the user guide's problems, then the project's frequent failures
TROUBLE_TOPICS = (
    "__path__._path", "headless", "misclassifies", "Out of memory", "no trained model yet", "Hugging Face Hub could not provide",
    "500 (or 415)", "@champion", "older MLflow version", "dvc.lock", "Hub unreachable and `../shared/data` missing", "port in use",
    "`make test-postgres`",
)


def test_every_troubleshooting_entry_has_symptom_cause_remedy_and_tried_here():
    entries = re.split(r"^## ", TROUBLESHOOTING.read_text(), flags=re.MULTILINE)[1:]
    headings = [entry.splitlines()[0] for entry in entries]
    assert [t for t in TROUBLE_TOPICS if not any(t in h for h in headings)] == [], headings
    for entry in entries:
        parts = [entry.find(f"**{part}.**") for part in ("Symptom", "Cause", "Remedy", "Tried here")]
        assert -1 not in parts and parts == sorted(parts), f"{entry.splitlines()[0]}: needs Symptom, Cause, Remedy, Tried here, in order"
        symptom = entry[parts[0] : parts[1]]
        assert "```" in symptom or "`" in symptom, f"{entry.splitlines()[0]}: the symptom quotes what the user sees"


@pytest.mark.parametrize("source", [README, TROUBLESHOOTING], ids=lambda p: p.name)
def test_every_relative_link_resolves(source: Path):
    links = [target for target in LINK.findall(_prose_links(source.read_text())) if not re.match(r"[a-z]+:", target)]
    assert links, f"{source.name} links into docs/"
    broken = []
    for target in links:
        path, _, anchor = target.partition("#")
        file = (source.parent / path).resolve() if path else source
        if not file.exists():
            broken.append(f"{target}: no file {path}")
        elif anchor and file.suffix == ".md" and anchor not in _heading_anchors(file):
            broken.append(f"{target}: {path} has no heading with the anchor #{anchor}")
    assert not broken, broken


def _prose_links(text: str) -> str:
    """``text`` without fenced code: a link inside a code block is an example, not a link."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
