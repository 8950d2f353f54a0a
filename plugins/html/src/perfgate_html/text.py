"""HTML text that shows as written: every value from outside goes through :func:`escape`.

Check names, messages, request names, URLs, SQL, host names and tags come from the targets
file, from responses or from other programs. In markup they are escaped here (``& < > " '``,
so they are safe in text and in quoted attributes); in the charts' JSON block they are
escaped by :func:`perfgate_html.page.json_block`, and the page's script puts them on the page
as text only (``textContent``), never as markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

# C0/C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape(text: object) -> str:
    """``text`` as HTML text (and quoted-attribute) content; control characters dropped."""
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def tag(name: str, content: str, cls: str | None = None) -> str:
    """``<name class="cls">content</name>``; ``content`` is markup already escaped."""
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<{name}{attr}>{content}</{name}>"


def code(text: object) -> str:
    return tag("code", escape(text))


def table(header: Sequence[str], rows: Iterable[Sequence[str]],
          numeric: Iterable[int] = ()) -> str:
    """A table; ``header`` is plain text, the cells are markup already escaped.

    :param numeric: indexes of columns aligned right (numbers).
    """
    right = set(numeric)

    def cell(kind: str, i: int, content: str) -> str:
        return tag(kind, content, "num" if i in right else None)

    head = "".join(cell("th", i, escape(h)) for i, h in enumerate(header))
    body = "\n".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                     for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
