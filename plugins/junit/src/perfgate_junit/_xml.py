"""Text that XML 1.0 can hold, and the document around it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

# XML 1.0 allows tab, newline, carriage return and everything from U+0020 except surrogates
# and U+FFFE/U+FFFF. C1 controls (U+007F..U+009F) are allowed but "discouraged" and confuse
# some readers: they go too.
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: object) -> str:
    """``text`` without the characters XML cannot carry, line breaks as ``\\n`` (what a parser
    reads back anyway). Escaping ``<``, ``&`` and quotes is the serialiser's job."""
    return _FORBIDDEN.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))


def element(tag: str, text: object | None = None, **attrs: object) -> ET.Element:
    """An element whose attributes and text are cleaned; ``None`` attributes are left out."""
    node = ET.Element(tag, {k: clean(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = clean(text)
    return node


def timestamp(epoch: float | None) -> str | None:
    """ISO 8601 without a zone, in UTC, as JUnit readers expect: ``2023-11-14T22:13:20``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def seconds(value: float | None) -> str:
    """A JUnit ``time`` attribute: seconds with three decimals."""
    return f"{max(value or 0.0, 0.0):.3f}"


def serialise(root: ET.Element) -> str:
    """The document as UTF-8 XML text with a declaration, indented for people."""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
