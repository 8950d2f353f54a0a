"""A ground truth for TLS and HTTP/2: nginx with certificates made for it, for tests and the
benchmark (needs ``cryptography``, a test dependency, and Debian's ``nginx-light``).

nginx runs with its own config on free loopback ports, in a process group of its own,
stopped by PID; every request is written to its access log with the port, the protocol
(``$server_protocol``), the status, the request's length, the bytes sent, the TLS version,
the client certificate's verification and the ``traceparent`` header: the ground truth the
tests check the driver's numbers against.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from perfgate import stop_group

#: The servers of :func:`nginx`, by name: what each ``server`` block adds to ``listen``.
SERVERS = {
    "h2tls": "ssl http2",  # TLS, ALPN h2 and http/1.1
    "h2c": "http2",  # clear text, HTTP/2 with prior knowledge
    "h1tls": "ssl",  # TLS, HTTP/1.1 only
    "mtls": "ssl http2",  # TLS with a client certificate required
    "tls12": "ssl",  # TLS 1.2 only
    "selfsigned": "ssl",  # a certificate no CA signed
    "goaway": "http2",  # h2c, GOAWAY after 25 requests on a connection
    "cap2": "http2",  # h2c, at most 2 concurrent streams on a connection
}
BIG = 3 * 1024 * 1024  # bytes of /big: more than the client's 1 MiB stream window

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format truth '$server_port $server_protocol $status $request_length $bytes_sent '
                   '$ssl_protocol $ssl_client_verify $http_traceparent';
  access_log {tmp}/access.log truth;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  client_max_body_size 16m;
  keepalive_requests 100000;
  ssl_certificate {tmp}/server.pem;
  ssl_certificate_key {tmp}/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  root {tmp}/www;
{servers}
}}
"""
SERVER = """\
  server {{
    listen 127.0.0.1:{port} {listen};
{extra}
    location = / {{ return 200 "ok\\n"; }}
    location = /token {{ default_type application/json; return 200 '{{"token":"t-42"}}'; }}
    location /put/ {{ dav_methods PUT; create_full_put_path on; }}
    location = /hang {{ proxy_pass http://127.0.0.1:{hang}; proxy_read_timeout 60s; }}
    location = /big {{ }}
    location = /login {{ add_header Set-Cookie "sid=s-7; Path=/" always; return 302 /session; }}
    location = /session {{ if ($cookie_sid != "s-7") {{ return 401; }} return 200 "in\\n"; }}
    location = /sid {{ if ($http_x_sid != "s-7") {{ return 403; }} return 200 "sid\\n"; }}
  }}
"""
EXTRA = {
    "mtls": "    ssl_verify_client on;\n    ssl_client_certificate {tmp}/ca.pem;",
    "tls12": "    ssl_protocols TLSv1.2;",
    "selfsigned": "    ssl_certificate {tmp}/self.pem;\n    ssl_certificate_key {tmp}/self.key;",
    "goaway": "    keepalive_requests 25;",
    "cap2": "    http2_max_concurrent_streams 2;",
}


@dataclass
class LogLine:
    """One request as nginx logged it."""

    port: int
    protocol: str
    status: int
    request_length: int
    bytes_sent: int
    tls: str
    client_verify: str
    traceparent: str  # "-" without one


@dataclass
class Nginx:
    """A running nginx: its ports by server name, its folder (the certificates in it)."""

    folder: Path
    ports: dict[str, int]
    _log_at: int = field(default=0)

    def url(self, name: str, path: str = "/") -> str:
        scheme = "http" if SERVERS[name] == "http2" else "https"
        return f"{scheme}://127.0.0.1:{self.ports[name]}{path}"

    def file(self, name: str) -> str:
        return str(self.folder / name)

    def mark(self) -> None:
        """Later :meth:`requests` calls read only what was logged from now on."""
        self._log_at = (self.folder / "access.log").stat().st_size

    def requests(self, name: str | None = None) -> list[LogLine]:
        """The requests logged since :meth:`mark` (of one server, when named)."""
        with (self.folder / "access.log").open("rb") as fh:
            fh.seek(self._log_at)
            text = fh.read().decode()
        lines = []
        for raw in text.splitlines():
            port, proto, status, length, sent, tls, verify, trace = raw.split(" ")
            line = LogLine(int(port), proto, int(status), int(length), int(sent), tls, verify,
                           trace)
            if name is None or line.port == self.ports[name]:
                lines.append(line)
        return lines


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nginx(tmp: Path, prefix: list[str] | None = None) -> Iterator[Nginx]:
    """nginx with the servers of :data:`SERVERS` and certificates made in ``tmp``;
    ``prefix`` goes before its command (``taskset -c 1``)."""
    binary = nginx_binary()
    assert binary is not None, "nginx is missing (Debian: apt-get install nginx-light)"
    make_certificates(tmp)
    (tmp / "www").mkdir()
    (tmp / "www" / "big").write_bytes(os.urandom(BIG))
    ports = {name: free_port() for name in SERVERS}
    # /hang: nginx passes it to a socket that takes connections and never answers
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(1024)
    servers = "".join(SERVER.format(port=ports[name], listen=listen, hang=hang.getsockname()[1],
                                    extra=EXTRA.get(name, "").format(tmp=tmp))
                      for name, listen in SERVERS.items())
    (tmp / "nginx.conf").write_text(CONF.format(tmp=tmp, servers=servers))
    (tmp / "access.log").touch()
    proc = subprocess.Popen([*(prefix or []), binary, "-c", str(tmp / "nginx.conf"), "-p",
                             str(tmp)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        for port in ports.values():
            while True:
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", port), timeout=0.2):
                    break
                assert proc.poll() is None, (tmp / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield Nginx(tmp, ports)
    finally:
        hang.close()
        stop_group(proc, 5)


# -- certificates --------------------------------------------------------------------------
def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(folder: Path, stem: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _certificate(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
                 signer: ec.EllipticCurvePrivateKey, ca: bool = False,
                 names: list[x509.GeneralName] | None = None,
                 usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True).add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_certificates(folder: Path) -> None:
    """``ca.pem``; ``server.pem``/``.key`` (signed by the CA: 127.0.0.1, localhost and
    api.test); ``client.pem``/``.key`` (signed by the CA); ``self.pem``/``.key``
    (self-signed, for 127.0.0.1)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("perfgate test CA", _name("perfgate test CA"), ca_key, ca_key, ca=True)
    _write(folder, "ca", ca, ca_key)
    loopback: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                        x509.DNSName("localhost")]
    key = ec.generate_private_key(ec.SECP256R1())
    _write(folder, "server", _certificate(
        "127.0.0.1", ca.subject, key, ca_key, names=[*loopback, x509.DNSName("api.test")],
        usage=ExtendedKeyUsageOID.SERVER_AUTH), key)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(folder, "client", _certificate("perfgate load", ca.subject, key, ca_key,
                                          usage=ExtendedKeyUsageOID.CLIENT_AUTH), key)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(folder, "self", _certificate("127.0.0.1", _name("127.0.0.1"), key, key,
                                        names=loopback), key)
