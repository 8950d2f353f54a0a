"""Request bodies beyond ``json`` and ``body``: ``form``, ``multipart``, ``body_file``; and
the ``auth`` shorthands.

Files are read once, when the plan is built (:class:`Files`); templates in form fields,
text parts and auth values are filled for each request like every other template.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from urllib.parse import urlencode

from perfgate import FilePart, RequestSpec, render_template

FORM = "application/x-www-form-urlencoded"


class Files:
    """The bytes of the files a plan's requests send, read once by path."""

    __slots__ = ("_read",)

    def __init__(self) -> None:
        self._read: dict[str, bytes] = {}

    def get(self, path: str) -> bytes:
        data = self._read.get(path)
        if data is None:
            data = self._read[path] = Path(path).read_bytes()
        return data


def has_body_keys(spec: RequestSpec) -> bool:
    """Whether ``spec`` gives its body by ``form``, ``multipart`` or ``body_file``."""
    return spec.form is not None or spec.multipart is not None or spec.body_file is not None


def render_body(spec: RequestSpec, values: dict[str, str],
                files: Files) -> tuple[bytes, str]:
    """The body and its ``Content-Type`` for a request with ``form``, ``multipart`` or
    ``body_file``."""
    if spec.form is not None:
        fields = {render_template(k, values): render_template(_text(v), values)
                  for k, v in spec.form.items()}
        return urlencode(fields).encode(), FORM
    if spec.multipart is not None:
        return multipart(spec.multipart, values, files)
    return files.get(spec.body_file or ""), "application/octet-stream"


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def multipart(parts: dict[str, str | int | float | FilePart], values: dict[str, str],
              files: Files) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (RFC 7578) and its ``Content-Type``."""
    boundary = f"perfgate-{uuid.uuid4().hex}"
    out: list[bytes] = []
    for name, part in parts.items():
        field = _quoted(render_template(name, values))
        out.append(f"--{boundary}\r\n".encode())
        if isinstance(part, FilePart):
            filename = _quoted(part.filename or Path(part.file).name)
            out.append(f'Content-Disposition: form-data; name="{field}"; '
                       f'filename="{filename}"\r\nContent-Type: {part.content_type}\r\n\r\n'
                       .encode())
            out.append(files.get(part.file))
        else:
            out.append(f'Content-Disposition: form-data; name="{field}"\r\n\r\n'.encode())
            out.append(render_template(_text(part), values).encode())
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _quoted(text: str) -> str:
    """A name or file name inside a quoted ``Content-Disposition`` parameter."""
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace(
        "\n", "%0A")


def auth_header(spec: RequestSpec, values: dict[str, str]) -> str | None:
    """The ``Authorization`` value of ``auth:``, or None without it."""
    auth = spec.auth
    if auth is None:
        return None
    if auth.basic is not None:
        pair = (render_template(auth.basic.user, values) + ":"
                + render_template(auth.basic.password.get_secret_value(), values))
        return "Basic " + base64.b64encode(pair.encode()).decode()
    token = auth.bearer.token.get_secret_value() if auth.bearer is not None else ""
    return "Bearer " + render_template(token, values)
