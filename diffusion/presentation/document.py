"""A report as a list of blocks (headings, paragraphs, tables, figures, verbatim text), rendered to Markdown
or to one self-contained HTML page (charts embedded as base64 PNG, the style sheet inline, no external
address to fetch).

Inline text may hold `code` spans written with backticks (the report's own templates do); text that comes from
a user (names, descriptions, labels) is put in a code span with ``code(text)``, which survives any backticks
in it, and anything else a user wrote is escaped in both outputs: ``<``, ``>`` and ``&`` become entities in
Markdown as in HTML, so a description holding ``<script>`` is shown, never run.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from diffusion.foundation.strings import tr
from diffusion.presentation.charts.render import RenderedChart

#: Private marks around a code span made by ``code()`` (never in user text: control characters are removed).
_OPEN, _CLOSE = "\x02", "\x03"
_CODE = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}|`([^`]+)`")


def code(text: object) -> str:
    """``text`` as a code span of the document's inline text, whatever backticks it holds."""
    clean = "".join(ch for ch in str(text) if ch not in (_OPEN, _CLOSE))
    return f"{_OPEN}{clean}{_CLOSE}"


@dataclass
class Document:
    """A report as a list of blocks, rendered to Markdown or HTML.

    Inline text may contain `code` spans (backticks); everything else is escaped.
    """

    title: str
    lang: str = "en"
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        """A section heading (level 1 is a section under the title)."""
        self.blocks.append(("h", level, text))

    def para(self, text: str) -> None:
        """A paragraph."""
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[object]]) -> None:
        """A table (nothing if there are no rows); None and NaN cells show as "–"."""
        if rows:
            self.blocks.append(("table", header, [[_cell(c) for c in r] for r in rows]))

    def figure(self, number: int, chart: RenderedChart, folder: Path) -> None:
        """A numbered chart with its caption (paths relative to the report's ``folder``)."""
        self.blocks.append(("figure", number, chart, folder))

    def code(self, text: str) -> None:
        """A block of verbatim text (the configuration)."""
        self.blocks.append(("code", text))

    # ------------------------------------------------------------------------------ Markdown
    def to_markdown(self) -> str:
        """The document as Markdown (charts linked as files beside it)."""
        out = [f"# {_md_inline(self.title)}", ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                out += ["#" * (b[1] + 1) + " " + _md_inline(b[2]), ""]
            elif kind == "p":
                out += [_md_inline(b[1]), ""]
            elif kind == "table":
                out.append("| " + " | ".join(_md_cell(h) for h in b[1]) + " |")
                out.append("|" + "|".join("---" for _ in b[1]) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b[2]]
                out.append("")
            elif kind == "code":
                runs = [len(m) for m in re.findall(r"`+", b[1])]
                fence = "`" * max(3, max(runs, default=0) + 1)
                out += [fence + "toml", b[1].rstrip("\n"), fence, ""]
            elif kind == "figure":
                _, n, chart, folder = b
                rel = chart.png.relative_to(folder).as_posix()
                caption = _md_inline(f"{tr('report.figure', self.lang, n=n)}. {chart.caption}")
                svg, pdf = (p.relative_to(folder).as_posix() for p in (chart.svg, chart.pdf))
                label = tr("report.figure", self.lang, n=n)
                out += [f"![{label}]({rel})", "", f"*{caption}* ([SVG]({svg}) · [PDF]({pdf}))", ""]
        return "\n".join(out).rstrip() + "\n"

    # ---------------------------------------------------------------------------------- HTML
    def to_html(self) -> str:
        """The document as one self-contained HTML page (charts embedded as base64 PNG)."""
        body = [f"<h1>{_inline(self.title)}</h1>"]
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                level = min(6, b[1] + 1)
                body.append(f"<h{level}>{_inline(b[2])}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif kind == "code":
                body.append(f"<pre><code>{html.escape(b[1].rstrip())}</code></pre>")
            elif kind == "figure":
                _, n, chart, folder = b
                data = base64.b64encode(chart.png.read_bytes()).decode("ascii")
                caption = f"{tr('report.figure', self.lang, n=n)}. {chart.caption}"
                svg, pdf = (p.relative_to(folder).as_posix() for p in (chart.svg, chart.pdf))
                body.append(
                    f'<figure id="{html.escape(chart.name)}"><img alt="{html.escape(caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption><strong>{_inline(tr('report.figure', self.lang, n=n))}.</strong> "
                    f"{_inline(chart.caption)} <span class=\"files\">(<a href=\"{html.escape(svg)}\">SVG</a> · "
                    f"<a href=\"{html.escape(pdf)}\">PDF</a>)</span></figcaption></figure>"
                )
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{self.lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n"
        )


_CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #222; background: #fff;
       line-height: 1.45; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f2f2f2; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em; }
code.url { overflow-wrap: anywhere; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #333; } .files { color: #666; }
@media print { figure { break-inside: avoid; } }
"""


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return str(value)


def _md_cell(text: str) -> str:
    return _md_inline(str(text)).replace("|", "\\|").replace("\n", " ")


def _md_code(content: str) -> str:
    """A Markdown code span holding ``content`` literally (a fence longer than any backtick run in it)."""
    runs = [len(m) for m in re.findall(r"`+", content)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs else ""  # CommonMark strips one space on each side of a span that has both
    return f"{fence}{pad}{content}{pad}{fence}"


def _md_inline(text: str) -> str:
    """Inline text as Markdown: code spans kept literal, ``<``, ``>`` and ``&`` elsewhere as entities (no raw
    HTML passes through)."""
    out, pos = [], 0
    for m in _CODE.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        out.append(_md_code(m[1] if m[1] is not None else m[2]))
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def _inline(text: str) -> str:
    """HTML-escape ``text`` and turn code spans (`code` or ``code()``) into <code> elements."""
    out, pos = [], 0
    text = str(text)
    for m in _CODE.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        content = m[1] if m[1] is not None else m[2]
        cls = ' class="url"' if "://" in content else ""
        out.append(f"<code{cls}>{html.escape(content, quote=False)}</code>")
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)
