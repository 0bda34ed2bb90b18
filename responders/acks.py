"""Signed, expiring links for acknowledgements and tasks done.

A token is ``PAYLOAD.MAC``, both base64url without padding. PAYLOAD is the claim as
compact JSON, ``[1, incident, step, responder, round, purpose, expires_at]`` (the
expiry in Unix seconds); MAC is HMAC-SHA256 of ``muster-ack-token.v1.`` + PAYLOAD
under the service's secret key. The MAC is compared in constant time before any
field of PAYLOAD is read, and the text of both parts is what is signed and
compared, so no two spellings of one token are accepted.

Whether a token was used already is the action log's business (``claim_key``);
this module only says whether a token is genuine and current.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from muster.errors import AckTokenExpired, AckTokenInvalid, ConfigError

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "MIN_KEY_BYTES",
    "AckClaim",
    "AckPurpose",
    "ack_key",
    "claim_key",
    "issue_ack_token",
    "read_ack_token",
]

AckPurpose = Literal["ack", "task"]
KEY_ENV = "MUSTER_SECRET_KEY"
KEY_FILE = "secret.key"
MIN_KEY_BYTES = 32
_VERSION = 1
_SIGNED_PREFIX = b"muster-ack-token.v1."
_MAX_TOKEN = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_INVALID = "the link was altered or is not Muster's"
_HOW_TO_MAKE_A_KEY = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True, slots=True)
class AckClaim:
    """What a link vouches for: this responder may answer this step of this incident, in this round, until then.

    ``expires_at`` is kept in UTC to the second (any fraction is dropped), so a claim
    read back from its token equals the claim it was issued from.
    """

    incident_id: str
    step_id: str
    responder_id: str
    round: int
    purpose: AckPurpose
    expires_at: datetime

    def __post_init__(self) -> None:
        for name in ("incident_id", "step_id", "responder_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"AckClaim.{name} must be non-empty text, not {value!r}")
        if isinstance(self.round, bool) or not isinstance(self.round, int) or self.round < 0:
            raise ValueError(f"AckClaim.round must be a whole number ≥ 0, not {self.round!r}")
        if self.purpose not in ("ack", "task"):
            raise ValueError(f"AckClaim.purpose must be 'ack' or 'task', not {self.purpose!r}")
        if not isinstance(self.expires_at, datetime) or self.expires_at.utcoffset() is None:
            raise ValueError("AckClaim.expires_at must be a datetime with a time zone")
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC).replace(microsecond=0))


def claim_key(claim: AckClaim) -> str:
    """The action log's key for answers given through this claim: one answer per link."""
    return f"{claim.incident_id}/{claim.step_id}/{claim.responder_id}/{claim.round}/{claim.purpose}"


def issue_ack_token(claim: AckClaim, key: bytes) -> str:
    """The URL-safe token for ``claim``, signed with ``key``; the same claim and key give the same token."""
    _check_key(key)
    fields = [
        _VERSION,
        claim.incident_id,
        claim.step_id,
        claim.responder_id,
        claim.round,
        claim.purpose,
        int(claim.expires_at.timestamp()),
    ]
    payload = _encode(json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    return f"{payload}.{_mac(key, payload)}"


def read_ack_token(token: str, keys: bytes | Sequence[bytes], *, now: datetime) -> AckClaim:
    """The claim ``token`` carries, if one of ``keys`` (current first, then previous) signed it and it
    has not expired at ``now``.

    Raises AckTokenInvalid for anything altered, malformed or signed with another key,
    and AckTokenExpired, naming when, for a genuine token past its expiry.
    """
    candidates = [keys] if isinstance(keys, bytes | bytearray) else list(keys)
    if not candidates:
        raise ValueError("no key to check the link with")
    for key in candidates:
        _check_key(key)
    if now.utcoffset() is None:
        raise ValueError(f"now={now.isoformat()} has no time zone")
    payload, mac = _split(token)
    genuine = False
    for key in candidates:  # every key is tried, so the time taken does not say which one matched
        genuine |= hmac.compare_digest(_mac(key, payload).encode("ascii"), mac.encode("ascii"))
    if not genuine:
        raise AckTokenInvalid(_INVALID)
    claim = _parse(payload)
    if now >= claim.expires_at:
        raise AckTokenExpired(f"this link expired at {claim.expires_at.isoformat()}")
    return claim


def ack_key(home: Path) -> bytes:
    """The key that signs links: ``MUSTER_SECRET_KEY`` (hex or base64), else ``home/secret.key``,
    made once with 32 random bytes, readable by its owner only."""
    text = os.environ.get(KEY_ENV, "").strip()
    if text:
        return _key_from_text(text)
    path = Path(home) / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = _create_key_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the link-signing key {path}: {exc.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{path} holds {len(key)} bytes; a link-signing key needs at least {MIN_KEY_BYTES}. "
            f"Delete it to make a new one (links already sent stop working), or set {KEY_ENV}"
        )
    return key


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise ValueError(f"a link-signing key must be at least {MIN_KEY_BYTES} bytes, not {size}")


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, payload: str) -> str:
    return _encode(hmac.new(key, _SIGNED_PREFIX + payload.encode("ascii"), hashlib.sha256).digest())


def _split(token: object) -> tuple[str, str]:
    """The two parts of a token that looks like one; nothing inside is read yet."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise AckTokenInvalid(_INVALID)
    payload, mac = token.split(".")
    if not (_BASE64URL.fullmatch(payload) and _BASE64URL.fullmatch(mac)):
        raise AckTokenInvalid(_INVALID)
    return payload, mac


def _parse(payload: str) -> AckClaim:
    """The claim in a payload whose MAC has been checked."""
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        version, incident_id, step_id, responder_id, round_, purpose, expires = fields
        if version != _VERSION or not isinstance(expires, int) or isinstance(expires, bool):
            raise ValueError("not a version-1 claim")
        expires_at = datetime.fromtimestamp(expires, UTC)
        return AckClaim(incident_id, step_id, responder_id, round_, purpose, expires_at)
    except (ValueError, TypeError, OverflowError, OSError):
        raise AckTokenInvalid(_INVALID) from None


def _key_from_text(text: str) -> bytes:
    if _HEX.fullmatch(text):
        key = bytes.fromhex(text)
    else:
        try:
            padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
            key = base64.b64decode(padded, validate=True)
        except binascii.Error:
            raise ConfigError(f"{KEY_ENV} is neither hex nor base64; {_HOW_TO_MAKE_A_KEY}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{KEY_ENV} decodes to {len(key)} bytes; a link-signing key needs at least {MIN_KEY_BYTES}. "
            f"{_HOW_TO_MAKE_A_KEY}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new random key to ``path`` unless someone else gets there first; return the key that is there.

    The key is written and synced under a private temporary name, then hard-linked into
    place: the link either creates ``path`` whole or fails because it exists, so two
    processes starting at once end with the same key and neither reads a half-written file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)  # whatever the umask
            file.write(secrets.token_bytes(MIN_KEY_BYTES))
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: everyone uses that one
            os.link(temporary, path)
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot create the link-signing key {path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
