"""TLS for the ``http`` driver: the scenario's ``tls:`` options and the client context.

::

    tls:
      ca_bundle: certs/ca.pem        # instead of the system's store
      client_cert: certs/client.pem  # with client_key: a client certificate
      client_key: certs/client.key
      server_name: api.internal      # SNI and the name the certificate must carry
      min_version: "1.2"             # refuse servers that offer only older versions

Verification is on by default, against the system's store (``insecure_skip_tls_verify``
turns it off). Files are relative to the targets file's folder, as ``data:`` files are, and
are loaded when the targets file is checked: a missing file or a key that does not match its
certificate is an error at its key.

The handshake is timed apart from the TCP connect (``http.req_tls_handshaking``), and a
failed handshake is ``error: tls`` with its reason (:func:`tls_reason`).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_validator

from perfgate import ComponentConfig

TlsVersion = Literal["1.0", "1.1", "1.2", "1.3"]

#: OpenSSL's ``[SSL: NAME]`` prefix and ``(_ssl.c:1006)`` suffix around its message.
_OPENSSL_NOISE = re.compile(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$")

_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


class TlsOptions(ComponentConfig):
    """``tls:`` of an ``http`` scenario (see the module docstring)."""

    #: PEM file of the CA certificates to trust instead of the system's store.
    ca_bundle: str | None = None
    #: PEM file of the client certificate (its chain may follow it), sent when asked.
    client_cert: str | None = None
    #: PEM file of the client certificate's private key (when not in ``client_cert``).
    client_key: str | None = None
    #: The name sent as SNI and checked against the server's certificate (default: the host).
    server_name: str | None = None
    #: The oldest TLS version accepted.
    min_version: TlsVersion | None = None

    @field_validator("min_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        """``min_version: 1.2`` is a number in YAML: read it as the text it looks like."""
        if isinstance(value, float | int) and not isinstance(value, bool):
            return f"{float(value):.1f}"
        return value

    @field_validator("ca_bundle", "client_cert", "client_key")
    @classmethod
    def _file(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The file, made absolute from the targets file's folder; it must exist."""
        if value is None:
            return None
        path = Path(value).expanduser()
        folder = (info.context or {}).get("targets_folder")
        if folder is not None and not path.is_absolute():
            path = Path(folder) / path
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return str(path.resolve())

    @model_validator(mode="after")
    def _loadable(self) -> TlsOptions:
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key needs client_cert")
        try:
            client_context(self, insecure=False, alpn=())
        except ssl.SSLError as exc:
            raise ValueError(f"cannot load the TLS files: {tls_reason(exc)}") from None
        return self


def client_context(options: TlsOptions | None, insecure: bool,
                   alpn: tuple[str, ...]) -> ssl.SSLContext:
    """A client context: verification on (against ``ca_bundle`` or the system's store)
    unless ``insecure``, the client certificate, the oldest version, ``alpn`` offered."""
    ca = options.ca_bundle if options is not None else None
    ctx = ssl.create_default_context(cafile=ca)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if options is not None:
        if options.client_cert is not None:
            ctx.load_cert_chain(options.client_cert, options.client_key)
        if options.min_version is not None:
            ctx.minimum_version = _VERSIONS[options.min_version]
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def tls_reason(exc: BaseException) -> str:
    """Why a handshake failed, in OpenSSL's words without its file and line:
    ``certificate verify failed: self-signed certificate``."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}".rstrip(".")
    text = _OPENSSL_NOISE.sub("", str(exc)).strip()
    if text and text != str(getattr(exc, "reason", None)):
        return text  # "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert ... (_ssl.c:1006)"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.lower().replace("_", " ")
    return text or type(exc).__name__
