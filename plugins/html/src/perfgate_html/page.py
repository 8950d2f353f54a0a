"""The page around the report: one self-contained HTML file that fetches nothing.

uPlot (vendored, see ``vendor/``), the page's own script and styles are inlined; the charts'
data is a JSON block the script reads. A Content-Security-Policy allows exactly these inline
scripts and styles, by hash, and nothing else: no request can leave the page when it is
opened, and markup that slipped through escaping could not run a script.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from perfgate_html.text import escape

#: The vendored charting library: its name and version, as its README says.
UPLOT = "uPlot 1.6.32"


@cache
def asset(name: str) -> str:
    """A file shipped in the package (``vendor/uPlot.iife.min.js``, ``static/report.js``)."""
    return resources.files("perfgate_html").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def json_block(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as JSON escapes, so no text in it (a request named
    ``</script>``) can close the element or open a comment; JSON.parse reads them back.
    """
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def document(title: str, body: str, data: Any) -> str:
    """The whole HTML file: head, ``body`` (markup, already escaped), the data, the scripts."""
    styles = [asset("vendor/uPlot.min.css"), asset("static/report.css")]
    scripts = [asset("vendor/uPlot.iife.min.js"), asset("static/report.js")]
    policy = ("default-src 'none'; "
              f"script-src {' '.join(_hash(s) for s in scripts)}; "
              f"style-src {' '.join(_hash(s) for s in styles)}; "
              "base-uri 'none'; form-action 'none'")
    head = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title>",
        *(f"<style>{s}</style>" for s in styles),
        "</head>",
    ])
    tail = "\n".join([
        f'<script type="application/json" id="perfgate-data">{json_block(data)}</script>',
        *(f"<script>{s}</script>" for s in scripts),
        "</body>",
        "</html>",
    ])
    return f"{head}\n<body>\n{body}\n{tail}\n"
