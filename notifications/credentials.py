"""Credentials in channel urls and settings: named without being shown, and cut out of what Muster says."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["credential_fingerprint", "without_credentials"]

# A credential shorter than this is not cut out: it would cut ordinary words out of every reason.
_SHORTEST_CREDENTIAL = 4


def credential_fingerprint(credential: str) -> str:
    """A short stable name for a token or key that does not reveal it."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


def without_credentials(text: str, credentials: Sequence[str]) -> str:
    """``text`` with every credential cut out, the longest first, so no token or key reaches a reason."""
    for credential in sorted(credentials, key=len, reverse=True):
        if len(credential) >= _SHORTEST_CREDENTIAL:
            text = text.replace(credential, "…")
    return text
