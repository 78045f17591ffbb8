"""MkDocs hooks for the documentation site (see mkdocs.yml).

- The bibliography page is generated at build time from the package's own bibliography
  (``pedbone.bibliography.sources()``), so the site and ``pedbone sources`` never disagree and no
  generated file is committed.
- A citation written as ``[S11]`` or ``[CDC2000]`` in a page (or a docstring shown by the API
  reference) links to its entry on that page. Keys that are not in the bibliography stay plain
  text; ``tests/test_foundation.py`` already fails on an unknown key in code or data.
- The repository's README, CONTRIBUTING and CHANGELOG are served as pages of the site.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.structure.files import File, Files

from pedbone.bibliography import sources

ROOT = Path(__file__).resolve().parents[1]
BIBLIOGRAPHY = "bibliography.md"
#: Pages copied from the repository root into the site: site path -> repository file.
ROOT_PAGES = {
    "index.md": "README.md",
    "contributing.md": "CONTRIBUTING.md",
    "changelog.md": "CHANGELOG.md",
}
_CITATION = re.compile(r"(?<![\\`\w])\[([A-Z][A-Za-z0-9]*\d[a-z]?)\](?![(:])")


def _anchor(key: str) -> str:
    return "src-" + key.lower()


def _bibliography_markdown() -> str:
    lines = [
        "# Bibliography",
        "",
        "Every reference table, threshold, dose and cap in pedbone carries one of these keys;",
        "`pedbone sources KEY` prints the same entry. Generated from the package's bibliography.",
        "",
    ]
    for kind, title in (("clinical", "Clinical sources"), ("methods", "Data and methods")):
        lines += [f"## {title}", ""]
        for src in sources().values():
            if src.kind == kind:
                text = html.escape(src.text, quote=False)
                lines.append(f'<a id="{_anchor(src.key)}"></a>**{src.key}** — {text}\n')
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, BIBLIOGRAPHY, content=_bibliography_markdown()))
    for dest, source in ROOT_PAGES.items():
        text = (ROOT / source).read_text(encoding="utf-8")
        # Links written relative to the repository root point into docs/ on the site.
        text = re.sub(r"\]\(docs/", "](", text)
        files.append(File.generated(config, dest, content=text))
    return files


class _Citations(Preprocessor):
    """Turn ``[S11]`` into a link to the bibliography, outside code (pages and docstrings)."""

    def run(self, lines: list[str]) -> list[str]:
        known = sources()
        target = "../" * _STATE["depth"] + BIBLIOGRAPHY

        def link(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in known:
                return match.group(0)
            return f"[\\[{key}\\]]({target}#{_anchor(key)})"

        out: list[str] = []
        fenced = False
        for line in lines:
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if fenced:
                out.append(line)
                continue
            parts = line.split("`")
            for i in range(0, len(parts), 2):  # even parts are outside inline code
                parts[i] = _CITATION.sub(link, parts[i])
            out.append("`".join(parts))
        return out


class _CitationExtension(Extension):
    def extendMarkdown(self, md: Any) -> None:  # noqa: N802 - Python-Markdown's API
        md.preprocessors.register(_Citations(md), "pedbone_citations", 25)


#: Depth of the page being rendered (pages render one at a time), for relative links.
_STATE = {"depth": 0}


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(_CitationExtension())
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    _STATE["depth"] = page.file.src_uri.count("/")
    return markdown
