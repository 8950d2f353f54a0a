"""A small service that speaks the HTTP real services do: a login that sets a session
cookie, redirects, compressed responses, form and multipart uploads, basic and bearer auth.

It counts what it saw (``GET /_counts``: hits per path, bytes uploaded, cookies received),
so a test can hold a load generator's numbers against the server's own. Standard library,
plus ``brotli`` and ``zstandard`` for those encodings.

    python server.py --port 8012
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import secrets
import threading
import time
import zlib
from collections import Counter
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli
import zstandard

USERS = {"ann": "wonderland", "bob": "builder"}
TOKEN = "tok-3f9a"  # the bearer token /auth/bearer accepts
TEXT = "hello compressed world " * 40  # compresses well: the wire shows it

ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


class Counts:
    """What the server saw, under a lock (the server answers on many threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.cookies: Counter[str] = Counter()  # "name=value" received
        self.uploaded = 0  # bytes of uploaded files
        self.fields: Counter[str] = Counter()  # "name=value" of form fields received
        self.methods: Counter[str] = Counter()  # "METHOD /path"
        self.sessions: dict[str, str] = {}  # session id -> user

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"hits": dict(self.hits), "cookies": dict(self.cookies),
                    "uploaded": self.uploaded, "fields": dict(self.fields),
                    "methods": dict(self.methods), "sessions": len(self.sessions)}

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.cookies.clear()
            self.fields.clear()
            self.methods.clear()
            self.uploaded = 0
            self.sessions.clear()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------------
    def _answer(self, status: int, body: bytes | dict[str, Any] = b"",
                headers: list[tuple[str, str]] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        if isinstance(body, dict):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for value in self.headers.get_all("Cookie") or []:
            jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = self._body()
        counts = self.server.counts
        cookies = self._cookies()
        with counts.lock:
            if not path.startswith("/_"):
                counts.hits[path] += 1
                counts.methods[f"{self.command} {path}"] += 1
                counts.cookies.update(f"{k}={v}" for k, v in cookies.items())
        handler = getattr(self, "route_" + path.strip("/").split("/")[0].replace("-", "_"),
                          None)
        if handler is None:
            self._answer(404, {"error": "not found", "path": path})
            return
        handler(path, query, body, cookies)

    # -- routes ---------------------------------------------------------------------------
    def route__counts(self, path: str, query: dict[str, str], body: bytes,
                      cookies: dict[str, str]) -> None:
        self._answer(200, self.server.counts.snapshot())

    def route__reset(self, path: str, query: dict[str, str], body: bytes,
                     cookies: dict[str, str]) -> None:
        self.server.counts.reset()
        self._answer(200, {"reset": True})

    def route_health(self, path: str, query: dict[str, str], body: bytes,
                     cookies: dict[str, str]) -> None:
        self._answer(200, {"status": "ok"})

    def route_login(self, path: str, query: dict[str, str], body: bytes,
                    cookies: dict[str, str]) -> None:
        """POST a form (user, password) or JSON; a session cookie on success. With
        ``?next=/me`` the answer is a 303 there, the cookie set on the redirect."""
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("application/json"):
            given = json.loads(body or b"{}")
        else:
            given = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        user = str(given.get("user", ""))
        if USERS.get(user) != given.get("password"):
            self._answer(401, {"error": "bad credentials"})
            return
        sid = secrets.token_hex(8)
        with self.server.counts.lock:
            self.server.counts.sessions[sid] = user
        cookie = ("Set-Cookie", f"session={sid}; Path=/; HttpOnly; SameSite=Lax")
        if "next" in query:
            self._answer(303, b"", [cookie, ("Location", query["next"])])
        else:
            self._answer(200, {"user": user}, [cookie])

    def route_me(self, path: str, query: dict[str, str], body: bytes,
                 cookies: dict[str, str]) -> None:
        """The signed-in user, by the session cookie; 401 without a valid one."""
        with self.server.counts.lock:
            user = self.server.counts.sessions.get(cookies.get("session", ""))
        if user is None:
            self._answer(401, {"error": "not signed in"})
        else:
            self._answer(200, {"user": user})

    def route_logout(self, path: str, query: dict[str, str], body: bytes,
                     cookies: dict[str, str]) -> None:
        self._answer(200, {"bye": True},
                     [("Set-Cookie", "session=; Path=/; Max-Age=0")])

    def route_redirect(self, path: str, query: dict[str, str], body: bytes,
                       cookies: dict[str, str]) -> None:
        """``/redirect/N``: N hops of 302 down to ``/redirect/0``, which answers 200."""
        n = int(path.rsplit("/", 1)[-1])
        if n == 0:
            self._answer(200, {"hops": "done"})
        else:
            self._answer(302, b"", [("Location", f"/redirect/{n - 1}")])

    def route_redirect_to(self, path: str, query: dict[str, str], body: bytes,
                          cookies: dict[str, str]) -> None:
        """``/redirect-to?url=U&status=S``: one redirect to U (absolute or relative)."""
        self._answer(int(query.get("status", "302")), b"", [("Location", query["url"])])

    def route_echo(self, path: str, query: dict[str, str], body: bytes,
                   cookies: dict[str, str]) -> None:
        """What arrived: method, body length, some headers."""
        self._answer(200, {"method": self.command, "body_length": len(body),
                           "body": body.decode("latin-1")[:200],
                           "content_type": self.headers.get("Content-Type"),
                           "authorization": self.headers.get("Authorization"),
                           "accept_encoding": self.headers.get("Accept-Encoding")})

    def route_set_cookies(self, path: str, query: dict[str, str], body: bytes,
                          cookies: dict[str, str]) -> None:
        """Cookies with each attribute a jar must honour."""
        self._answer(200, {"set": True}, [
            ("Set-Cookie", "plain=1; Path=/"),
            ("Set-Cookie", "scoped=2; Path=/cookies/scoped"),
            ("Set-Cookie", "secure=3; Path=/; Secure"),
            ("Set-Cookie", "gone=4; Path=/; Max-Age=0"),
            ("Set-Cookie", "past=5; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            ("Set-Cookie", "brief=6; Path=/; Max-Age=1"),
            ("Set-Cookie", "strict=7; Path=/; HttpOnly; SameSite=Strict"),
            ("Set-Cookie", "other=8; Path=/; Domain=example.com"),
        ])

    def route_cookies(self, path: str, query: dict[str, str], body: bytes,
                      cookies: dict[str, str]) -> None:
        """The cookies this request carried (``/cookies/scoped/...`` too)."""
        self._answer(200, {"cookies": cookies})

    def route_token(self, path: str, query: dict[str, str], body: bytes,
                    cookies: dict[str, str]) -> None:
        """A token in a response header, for ``header:`` captures."""
        self._answer(200, {"ok": True}, [("X-Token", "hdr-" + secrets.token_hex(4))])

    def route_compressed(self, path: str, query: dict[str, str], body: bytes,
                         cookies: dict[str, str]) -> None:
        """``/compressed/ENCODING``: a JSON body in that encoding, when it is accepted."""
        encoding = path.rsplit("/", 1)[-1]
        data = json.dumps({"encoding": encoding, "text": TEXT}).encode()
        accepted = [e.strip().split(";")[0] for e in
                    self.headers.get("Accept-Encoding", "").split(",")]
        headers = [("Content-Type", "application/json")]
        if encoding in accepted:
            data = ENCODERS[encoding](data)
            headers.append(("Content-Encoding", encoding))
        self._answer(200, data, headers)

    def route_upload(self, path: str, query: dict[str, str], body: bytes,
                     cookies: dict[str, str]) -> None:
        """A form or multipart upload: the fields and the size of each file."""
        kind = self.headers.get("Content-Type", "")
        fields: dict[str, str] = {}
        files: dict[str, int] = {}
        if kind.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {kind}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    files[str(name)] = len(payload)
                else:
                    fields[str(name)] = payload.decode()
        elif kind.startswith("application/x-www-form-urlencoded"):
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        else:
            files["body"] = len(body)
        counts = self.server.counts
        with counts.lock:
            counts.uploaded += sum(files.values())
            counts.fields.update(f"{k}={v}" for k, v in fields.items())
        self._answer(200, {"fields": fields, "files": files})

    def route_auth(self, path: str, query: dict[str, str], body: bytes,
                   cookies: dict[str, str]) -> None:
        """``/auth/basic``: user and password of USERS; ``/auth/bearer``: TOKEN."""
        given = self.headers.get("Authorization", "")
        ok = False
        if path.endswith("/basic") and given.startswith("Basic "):
            user, _, password = base64.b64decode(given[6:]).decode().partition(":")
            ok = USERS.get(user) == password
        elif path.endswith("/bearer"):
            ok = given == f"Bearer {TOKEN}"
        self._answer(200 if ok else 401, {"ok": ok})

    def route_slow(self, path: str, query: dict[str, str], body: bytes,
                   cookies: dict[str, str]) -> None:
        time.sleep(int(query.get("ms", "100")) / 1000)
        self._answer(200, {"slept_ms": int(query.get("ms", "100"))})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), Handler)
        self.counts = Counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    Server(args.port, args.host).serve_forever()


if __name__ == "__main__":
    main()
