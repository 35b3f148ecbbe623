"""The README is the package's long description and a user's first page: it stays short, keeps
the two-command contract, links only to files of this repository that exist, and its strategy
snippet is valid Python. The documentation site's nav (mkdocs.yml) names every page under docs/
and only pages that exist, and the troubleshooting page explains every event and every reason a
block can give; `make docs` / `make test` build the site itself with --strict.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote


ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"
# [text](target) and [text](target "title"); images too.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _links(text: str) -> list[str]:
    prose = _FENCE.sub("", text)  # a link-like text inside a code block is not a link
    return _LINK.findall(prose)


def test_readme_is_short() -> None:
    assert len(_readme().splitlines()) <= 210


def test_readme_keeps_the_two_command_quick_start() -> None:
    text = _readme()
    blocks = [body for lang, body in _FENCE.findall(text) if lang in ("bash", "sh", "")]
    commands = [line.split("#", 1)[0].strip() for body in blocks for line in body.splitlines()]
    assert "make demo" in commands and "make test" in commands
    # near the top: before the install instructions
    assert text.index("make demo") < text.index("## Install")
    assert text.index("make test") < text.index("## Install")


def test_every_relative_link_in_the_readme_points_to_an_existing_file() -> None:
    links = _links(_readme())
    assert links, "the README links into docs/"
    for target in links:
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", target), (
            f"{target}: the README (the package's long description) points outside the repository"
        )
        path = unquote(target.split("#", 1)[0])
        if not path:
            continue  # an anchor of the README itself
        assert not path.startswith("/"), f"{target}: a link relative to the repository, please"
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
        assert resolved.exists(), f"{target} does not exist"


def test_the_readme_strategy_snippet_is_valid_python() -> None:
    snippets = [body for lang, body in _FENCE.findall(_readme())
                if lang == "python" and "GhostGuardMixin" in body]
    assert snippets, "the README shows the one line in a strategy"
    for body in snippets:
        tree = ast.parse(body.replace("...", "pass"))
        classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        assert any(
            [getattr(base, "id", None) for base in node.bases][:2]
            == ["GhostGuardMixin", "IStrategy"]
            for node in classes
        ), "the mixin goes in front of IStrategy"


def test_the_readme_states_the_declared_freqtrade_range() -> None:
    """The range in the README is the one pyproject.toml declares (a change of one is a change
    of the other)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = [d.replace(" ", "") for d in dependencies if re.match(r"freqtrade\b", d)]
    assert len(declared) == 1
    assert f"`{declared[0]}`" in _readme(), f"the README should state {declared[0]}"


def _nav_pages() -> list[str]:
    return re.findall(r"^\s*-\s.*?([\w./-]+\.md)\s*$", MKDOCS.read_text(), re.M)


def test_the_docs_nav_names_every_page_and_only_existing_ones() -> None:
    nav = _nav_pages()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    assert "docs_dir: docs" in MKDOCS.read_text()


def test_the_docs_point_to_nothing_outside_the_docs() -> None:
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text, page.name
        for target in _links(text):
            assert not re.match(r"^[a-z][a-z0-9+.-]*:", target), f"{page.name}: {target}"
            path = target.split("#", 1)[0]
            if not path:
                continue
            resolved = (page.parent / unquote(path)).resolve()
            assert resolved.is_relative_to(DOCS.resolve()), f"{page.name}: {target}"


def test_the_troubleshooting_page_explains_every_event_and_every_reason() -> None:
    from ghostguard import events

    page = (DOCS / "events.md").read_text(encoding="utf-8")
    names = [v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)
             and k == v]
    assert len(names) >= 12
    source = "\n".join(p.read_text() for p in (ROOT / "plugin" / "ghostguard").glob("*.py"))
    reasons = set(re.findall(r"Denial\(\s*[\w.]+,\s*\"([a-z_]+)\"", source))
    assert len(reasons) >= 20
    for code in [*names, *sorted(reasons)]:
        assert f"| `{code}` |" in page, f"docs/events.md has no row for {code}"
