"""The repository stands on its own: no pointer to a document outside it, no dead link.

Every tracked file (``git ls-files``) is searched for the names of documents that live
outside the repository; a name counts as a pointer to the outside unless, as written, it
resolves to a tracked file (``docs/FORMATS.md`` does, a bare ``GDO.md`` does not). Every
relative link in README.md and docs/*.md must reach an existing file, and every
``#anchor`` into a Markdown file (links, and ``docs/METHOD.md#section`` pointers in code
comments) must name one of its headings.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(REPO).as_posix()

# Documents that are not part of the repository (working notes, design notes).
OUTSIDE_DOCS = ("GDO.md", "TINY_MODEL.md", "FORMATS.md", "STACK_FACTS.md", "DESIGN.md", "STYLE.md")
# Folders outside the repository; any mention is a pointer out.
OUTSIDE_PATHS = ("../shared", "shared/reference")
# A path-like token ending in one of the outside document names.
_DOC_TOKEN = re.compile(
    r"[\w./-]*?(?<![\w-])(?:" + "|".join(re.escape(d) for d in OUTSIDE_DOCS) + r")(?![\w-])"
)
# [text](target) and ![alt](target), an optional "title" after the target.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_MD_ANCHOR = re.compile(r"([\w./-]+\.md)#([\w-]+)")


def tracked_files() -> list[str]:
    """Paths of the tracked files, relative to the repository root."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist or wheel): no file list")
    return [p for p in out.decode().split("\0") if p]


def outside_pointers(text: str, where: str, exists) -> list[str]:
    """Mentions in ``text`` (of the file ``where``) of documents outside the repository.

    ``exists(path)`` says whether a repository-relative path is a tracked file; a document
    name is allowed only when the token around it resolves to one, from the repository
    root or from the file's folder.
    """
    found = [
        f"{where}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for p in OUTSIDE_PATHS
        for m in re.finditer(re.escape(p), text)
    ]
    folder = Path(where).parent
    for m in _DOC_TOKEN.finditer(text):
        token = m.group(0)
        if not any(exists(_normalize(p)) for p in (Path(token), folder / token)):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{where}:{line}: {token}")
    return found


def _normalize(path: Path) -> str:
    """``a/b/../c`` -> ``a/c`` without touching the file system."""
    parts: list[str] = []
    for part in path.as_posix().split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts:
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, - for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Anchors of every heading of a Markdown text (repeats get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in _FENCE.sub("", markdown).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def dead_links(markdown: str, where: Path, root: Path) -> list[str]:
    """Relative links of a Markdown file that reach no file, or no heading of their target."""
    bad = []
    for m in _LINK.finditer(_CODE_SPAN.sub("", _FENCE.sub("", markdown))):
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (where.parent / path).resolve() if path else where.resolve()
        if not file.exists():
            bad.append(f"{where.relative_to(root)}: ({target}) -> no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            bad.append(f"{where.relative_to(root)}: ({target}) -> no heading #{anchor}")
    return bad


# --- the checks themselves can fail -------------------------------------------------------


def test_a_pointer_to_an_outside_document_is_found() -> None:
    files = {"docs/FORMATS.md", "docs/METHOD.md", "README.md"}
    text = (
        "see GDO.md, shared/reference/TINY_MODEL.md and ../shared/STYLE.md;\n"
        "also (FORMATS.md) from gdo/x.py, but docs/FORMATS.md is ours\n"
    )
    found = outside_pointers(text, "gdo/x.py", files.__contains__)
    joined = "\n".join(found)
    assert "gdo/x.py:1: GDO.md" in joined
    assert "shared/reference/TINY_MODEL.md" in joined and "../shared" in joined
    assert "gdo/x.py:2: FORMATS.md" in joined  # a bare name outside docs/ resolves to nothing
    assert not any(f.endswith("docs/FORMATS.md") for f in found)
    # From docs/, a plain relative FORMATS.md is the repository's own file.
    assert outside_pointers("[formats](FORMATS.md)", "docs/METHOD.md", files.__contains__) == []
    assert outside_pointers("[f](../docs/FORMATS.md)", "launch/R.md", files.__contains__) == []


def test_dead_links_and_anchors_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "A.md").write_text("# Title\n\n## The paper's results\n\n## Uni-10x\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/A.md) [ok](docs/A.md#the-papers-results) [ok](docs/A.md#uni-10x)\n"
        "[web](https://example.org/x.md) [self](#top)\n"
        "[gone](docs/B.md) [bad anchor](docs/A.md#results)\n"
        "```\n[in a code block](nowhere.md)\n```\n`[a code span](nowhere.md)`\n"
        "![missing image](docs/missing.png)\n# Top\n"
    )
    bad = dead_links(readme.read_text(), readme, tmp_path)
    assert bad == [
        "README.md: (docs/B.md) -> no such file",
        "README.md: (docs/A.md#results) -> no heading #results",
        "README.md: (docs/missing.png) -> no such file",
    ]


def test_slug_follows_github() -> None:
    assert slug("AMM (motion)") == "amm-motion"
    assert slug("The paper's results") == "the-papers-results"
    assert slug("vds3 and the candidate score") == "vds3-and-the-candidate-score"
    assert slug("Your own benchmark (`kind: custom`) and goal") == (
        "your-own-benchmark-kind-custom-and-goal"
    )
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


# --- the repository ------------------------------------------------------------------------


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = tracked_files()
    known = set(files)
    found: list[str] = []
    for rel in files:
        if rel == THIS:
            continue
        path = REPO / rel
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += outside_pointers(text, rel, known.__contains__)
    assert not found, "pointers to documents outside the repository:\n" + "\n".join(found)


def test_links_in_readme_and_docs_resolve() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    bad: list[str] = []
    for page in pages:
        bad += dead_links(page.read_text(), page, REPO)
    assert not bad, "dead links:\n" + "\n".join(bad)


def test_section_pointers_in_tracked_files_name_a_heading() -> None:
    """``docs/METHOD.md#goals`` in a comment must name a heading of that page."""
    files = tracked_files()
    known = set(files)
    cache: dict[str, set[str]] = {}
    bad: list[str] = []
    for rel in files:
        if rel == THIS or not (REPO / rel).is_file():
            continue
        text = (REPO / rel).read_bytes().decode("utf-8", errors="replace")
        for m in _MD_ANCHOR.finditer(text):
            doc = m.group(1)
            target = next(
                (c for c in (doc, _normalize(Path(rel).parent / doc)) if c in known), None
            )
            if target is None:
                continue  # not a repository page (or a dead link: the checks above)
            if target not in cache:
                cache[target] = anchors((REPO / target).read_text())
            if m.group(2) not in cache[target]:
                bad.append(f"{rel}: {m.group(0)}")
    assert not bad, "pointers to headings that do not exist:\n" + "\n".join(bad)
