"""Keep secrets out of every report: known secret values and URL passwords become ``***``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?=@)",
                           re.I)
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'[^']*'|\"[^\"]*\"|\S+)",
                               re.I)


class Redactor:
    """Replaces secret values, URL passwords and ``password=...`` pairs in text and documents."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
        return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, value)

    def document(self, value: Any) -> Any:
        """A copy of ``value`` with every string redacted and non-finite floats as None."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {self.document(k) if isinstance(k, str) else k: self.document(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.document(v) for v in value]
        return value
