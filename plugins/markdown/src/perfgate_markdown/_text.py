"""Markdown text that renders as written: escaping, code spans and tables.

Everything that comes from outside perfgate (check names, messages, URLs, SQL, host names)
goes through :func:`escape` or :func:`code` before it reaches the report, so a name with a
pipe cannot break a table and an error message with ``<script>`` stays text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# C0/C1 control characters (tab, newline and carriage return are handled as whitespace).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
# Characters with inline meaning in CommonMark or GitHub Flavored Markdown: emphasis, code,
# links and images, raw HTML, entities, tables, strikethrough, math, autolinks.
_INLINE = re.compile(r"([\\`*_\[\]<>|~&$!#])")
# Text at the start of a line that would open a block: a list, a heading, a quote, a rule.
_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")


def plain(text: object) -> str:
    """One line of text: control characters removed, runs of whitespace made one space."""
    return _SPACE.sub(" ", _CONTROL.sub("", str(text))).strip()


def escape(text: object) -> str:
    """``text`` as literal Markdown on one line, safe inside a table cell or after other text."""
    return _INLINE.sub(r"\\\1", plain(text))


def escape_line(text: object) -> str:
    """Like :func:`escape`, for text that starts a line or a list item: ``1.`` stays text."""
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}",
                            escape(text))


def code(text: object, *, in_table: bool = True) -> str:
    """``text`` as an inline code span on one line; pipes escaped when it sits in a table."""
    body = plain(text)
    if not body:
        return ""
    if in_table and "\\|" in body:
        # GitHub reads a backslash before an escaped pipe as an escaped backslash and ends
        # the cell there; a code span cannot hold that text, plain escaped text can.
        return escape(body)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if in_table:
        # GFM splits table rows on unescaped pipes before it looks at code spans.
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def table(header: Sequence[str], rows: Iterable[Sequence[str]],
          align: Sequence[str] | None = None) -> str:
    """A GFM table; cells are already Markdown. ``align`` holds ``l`` or ``r`` per column."""
    align = align or ["l"] * len(header)
    marks = {"l": "---", "r": "--:", "c": ":-:"}
    lines = [_row(header), _row([marks[a] for a in align])]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell if cell else " " for cell in cells) + " |"
