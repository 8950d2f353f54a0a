"""Names and messages from outside render as the text they are, and tables stay tables."""

from __future__ import annotations

import re
import string
from html import unescape

import pytest

from perfgate import Check, Verdict
from perfgate_markdown import render
from perfgate_markdown._text import code, escape, escape_line, plain

HOSTILE = [
    "a|b|c",
    "`tick` and ``two`` and ```",
    "*bold* _it_ __strong__ ~~gone~~",
    "[link](http://evil.example/x) ![img](x.png)",
    "<script>alert(1)</script> <b>b</b>",
    "&amp; &lt; &#60;",
    "nul\x00 bell\x07 esc\x1b[31m red del\x7f c1\x85",
    "end ]]> cdata <![CDATA[ x ]]>",
    "two\nlines\r\nand | --- | a row",
    "trailing backslash \\",
    "back\\|slash pipe \\\\| double",
    "$x^2$ math and $$y$$",
    "# heading",
    "1. item",
    "- item",
    "> quote",
    "<http://auto.link>",
    "\u2028line separator\u2029",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_holds_exactly_the_text(text, tables):
    doc = f"| a | b | c |\n| --- | --- | --- |\n| {escape(text)} | {code(text)} | x |\n"
    rows = tables(doc)[0]
    assert rows[1] == [plain(text), plain(text), "x"]


def github_cells(row: str) -> list[str]:
    """Split a table row as cmark-gfm (GitHub) does: a backslash escapes any punctuation."""
    cells, current, i = [], "", 0
    body = row.strip().removeprefix("|").removesuffix("|")  # our rows end in " |"
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in string.punctuation:
            current += body[i:i + 2]
            i += 2
            continue
        if body[i] == "|":
            cells.append(current)
            current = ""
        else:
            current += body[i]
        i += 1
    return [*cells, current]


@pytest.mark.parametrize("text", HOSTILE)
def test_github_splits_the_row_where_we_mean(text):
    assert len(github_cells(f"| {escape(text)} | {code(text)} | x |")) == 3


@pytest.mark.parametrize("text", HOSTILE)
def test_a_list_item_holds_exactly_the_text(text, html):
    page = html(f"- {escape_line(text)}\n")
    assert page.count("<li>") == 1
    assert "<script" not in page and "<b>" not in page and "<a " not in page
    assert "<ol" not in page and "<h1" not in page and "<blockquote" not in page


def test_plain_strips_control_characters():
    assert plain("a\x00b\x1bc\x7fd\x9fe\tf\ng") == "abcde f g"


def test_code_span_survives_backticks_outside_tables(html):
    assert html(code("a ``b`` c", in_table=False)) == "<p><code>a ``b`` c</code></p>\n"
    assert html(code("`edge`", in_table=False)) == "<p><code>`edge`</code></p>\n"


def test_hostile_names_in_a_whole_report(result, tables, find_table, html):
    evil = "api|latency `x` <img src=x onerror=alert(1)> ]]>\x00\x1b[0m *y*\nrow"
    result.checks.append(Check(evil, f"http.req_duration{{name:{evil}}}", Verdict.FAIL,
                               "p(95)", 1500.0, "ms", message=f"{evil} | broke"))
    result.scenarios.append({"name": evil, "driver": "http|x", "started": None,
                             "finished": None, "status": "failed", "error": evil})
    result.notes.append(evil)
    result.errors.append({"component": evil, "role": "collector", "phase": "start",
                          "message": evil})
    result.details["db|x"] = {"top_statements": [
        {"query": f"SELECT '{evil}' FROM ```t``` WHERE a || b", "calls": 1,
         "total_ms": 1.0, "mean_ms": 1.0, "max_ms": 1.0}]}
    result.environment["host"] = evil
    text = render(result)
    found = tables(text)
    for rows in found:
        assert all(len(row) == len(rows[0]) for row in rows), rows
    clean = plain(evil)
    checks = find_table(found, "Check")
    assert checks[-1][:3] == [clean, f"http.req_duration{{name:{clean}}}", "p(95) 1500.00ms"]
    assert find_table(found, "Scenario")[-1] == [clean, "http|x", "❌ failed", "n/a", clean]
    assert find_table(found, "Component")[-1] == [clean, "collector", "start", clean]
    assert find_table(found, "#")[-1][1] == f"SELECT '{clean}' FROM ```t``` WHERE a || b"
    assert dict(find_table(found, "Property")[1:])["Host"] == clean
    page = html(text)
    assert "<img" not in page
    items = [unescape(item) for item in re.findall(r"<li>(.*?)</li>", page)]
    assert clean in items
    assert "\x00" not in text and "\x1b" not in text
