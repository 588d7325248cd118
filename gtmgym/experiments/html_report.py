"""``report.html``: ``report.md`` as one self-contained page.

The page is rendered from the markdown the report writes, so the two say the
same thing; every figure is embedded as a base64 ``data:`` URI, and nothing
is fetched from anywhere (no scripts, fonts or style sheets from a network),
so the file can be mailed or archived on its own. Only the markdown that
:mod:`gtmgym.experiments.report` writes is understood: ``#`` headings,
paragraphs, ``>`` quotes, ``-`` lists, ``|`` tables, images
``![alt](file.png)`` of files in the run folder, inline ``code`` and
``**bold**``.
"""

from __future__ import annotations

import base64
import html
import re
import struct
from pathlib import Path

from gtmgym.experiments.plots import PNG_DPI
from gtmgym.experiments.store import OutputError

CSS_PIXELS_PER_INCH = 110  # a little above CSS's 96, for 7-8 pt text on a screen
IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<file>[^)\s]+)\)$")
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
blockquote { border-left: 4px solid #d55e00; margin: 1rem 0; padding: 0.2rem 1rem;
             background: #fdf3ec; }
figure { margin: 1rem 0; }
img { max-width: 100%; height: auto; }
code { background: #f2f2f2; padding: 0 0.2rem; }
"""
MEDIA = {".png": "image/png", ".svg": "image/svg+xml"}


def markdown_to_html(markdown: str, run_dir: Path) -> str:
    """The page for ``markdown`` (a report of ``run_dir``), images embedded.

    Raises:
        OutputError: an image names a file that is not in ``run_dir``.
    """
    lines = markdown.splitlines()
    title = next((line[2:] for line in lines if line.startswith("# ")), run_dir.name)
    body, index = [], 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        block = [line]
        kind = _kind(line)
        index += 1
        while index < len(lines) and lines[index].strip() and kind in ("table", "quote", "list"):
            if _kind(lines[index]) != kind:
                break
            block.append(lines[index])
            index += 1
        body.append(_block(kind, block, run_dir))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _kind(line: str) -> str:
    if line.startswith("#"):
        return "heading"
    if line.startswith("|"):
        return "table"
    if line.startswith(">"):
        return "quote"
    if line.startswith("- "):
        return "list"
    if IMAGE.match(line.strip()):
        return "image"
    return "paragraph"


def _block(kind: str, lines: list[str], run_dir: Path) -> str:
    if kind == "heading":
        level = len(lines[0]) - len(lines[0].lstrip("#"))
        return f"<h{level}>{_inline(lines[0][level:].strip())}</h{level}>"
    if kind == "table":
        return _table(lines)
    if kind == "quote":
        text = " ".join(line.lstrip(">").strip() for line in lines)
        return f"<blockquote><p>{_inline(text)}</p></blockquote>"
    if kind == "list":
        items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    if kind == "image":
        return _figure(IMAGE.match(lines[0].strip()), run_dir)
    return f"<p>{_inline(' '.join(lines))}</p>"


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _table(lines: list[str]) -> str:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    header, body = rows[0], [row for row in rows[1:] if not set("".join(row)) <= {"-", ":"}]
    head = "".join(f"<th>{_inline(cell)}</th>" for cell in header)
    cells = "".join(
        "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in body
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"


def _width(content: bytes) -> str:
    """A PNG's width attribute at the size it was drawn for (a column
    figure shown a column wide, not the page's), from its pixels and dpi."""
    if content[:8] != b"\x89PNG\r\n\x1a\n":
        return ""
    (pixels,) = struct.unpack(">I", content[16:20])
    return f' width="{round(pixels / PNG_DPI * CSS_PIXELS_PER_INCH)}"'


def _figure(match: re.Match, run_dir: Path) -> str:
    alt, name = match["alt"], match["file"]
    path = run_dir / name
    media = MEDIA.get(path.suffix)
    if media is None or not path.is_file() or path.parent.resolve() != run_dir.resolve():
        raise OutputError(f"{run_dir}: report.md shows {name!r}, which is not a figure here")
    content = path.read_bytes()
    data = base64.b64encode(content).decode("ascii")
    return (
        f'<figure><img src="data:{media};base64,{data}"{_width(content)} '
        f'alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
    )
