"""Every relative link in the notebooks (lessons and index) and in the READMEs points at a file that exists."""
import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "README.md"] + sorted(ROOT.glob("*/README.md"))
# [text](target "title"), ![alt](target), <a href="target">, <img src="target">
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def relative_links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold code, not links
    links = MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)
    return [link for link in links if not re.match(r"^([a-z][a-z0-9+.-]*:|#|//)", link, re.I)]


def test_link_pattern_finds_relative_links_only():
    text = ('[a](01_x.ipynb) [b](https://arxiv.org/abs/1409.4842) ![c](img/p.png "t") [d](#goals) '
            '<a href="../README.md#lessons">e</a>\n```\n[f](not_a_link.md)\n```')
    assert relative_links(text) == ["01_x.ipynb", "img/p.png", "../README.md#lessons"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    missing = []
    for link in relative_links(markdown_of(path)):
        target = (path.parent / unquote(link.split("#", 1)[0].split("?", 1)[0])).resolve()
        if not target.exists():
            missing.append(link)
        elif ROOT not in target.parents and target != ROOT:
            missing.append(f"{link} (outside the repository)")
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"
