"""Ack links: signed, bound to incident, step, responder, round and purpose, expiring, checked in constant time."""

from __future__ import annotations

import base64
import hmac
import json
import stat
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from muster.errors import AckTokenExpired, AckTokenInvalid, ConfigError
from responders import AckClaim, ack_key, claim_key, issue_ack_token, read_ack_token

KEY = bytes(range(32))
OLD_KEY = bytes(range(100, 132))
NOW = datetime(2026, 2, 16, 1, 0, tzinfo=UTC)
CLAIM = AckClaim(
    incident_id="inc-20260216-0001",
    step_id="muster-rescue",
    responder_id="zhao-lei",
    round=0,
    purpose="ack",
    expires_at=NOW + timedelta(hours=24),
)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def invalid(token: str, keys: bytes | list[bytes] = KEY) -> AckTokenInvalid:
    """The AckTokenInvalid that reading ``token`` raises."""
    with pytest.raises(AckTokenInvalid) as info:
        read_ack_token(token, keys, now=NOW)
    return info.value


def test_token_round_trips_to_the_same_claim() -> None:
    """Reading an issued token gives back exactly the claim it was issued for."""
    assert read_ack_token(issue_ack_token(CLAIM, KEY), KEY, now=NOW) == CLAIM


def test_token_is_url_safe_unpadded_and_deterministic() -> None:
    """A token is base64url text in two parts without padding, and the same claim and key give the same token."""
    token = issue_ack_token(CLAIM, KEY)
    payload, mac = token.split(".")
    assert set(payload + mac) <= set(ALPHABET)
    assert len(base64.urlsafe_b64decode(mac + "=")) == 32  # the full HMAC-SHA256
    assert issue_ack_token(CLAIM, KEY) == token


@pytest.mark.parametrize(
    "change",
    [
        {"incident_id": "inc-20260216-0002"},
        {"step_id": "report-county"},
        {"responder_id": "wang-fang"},
        {"round": 1},
        {"purpose": "task"},
        {"expires_at": NOW + timedelta(hours=24, seconds=1)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_field_is_bound_into_the_token(change: dict[str, Any]) -> None:
    """A claim differing in any one field gives a different token, which reads back as that claim."""
    other = replace(CLAIM, **change)
    token = issue_ack_token(other, KEY)
    assert token != issue_ack_token(CLAIM, KEY)
    assert read_ack_token(token, KEY, now=NOW) == other


def test_changing_any_one_character_of_the_token_makes_it_invalid() -> None:
    """Every single-character change, in the payload, the separator or the MAC, is refused as altered."""
    token = issue_ack_token(CLAIM, KEY)
    for index, original in enumerate(token):
        for replacement in {ALPHABET[(ALPHABET.find(original) + 1) % 64], "."} - {original}:
            altered = token[:index] + replacement + token[index + 1 :]
            error = invalid(altered)
            assert str(error) == "the link was altered or is not Muster's"
            assert altered not in str(error)


def test_payload_of_one_token_with_the_mac_of_another_is_invalid() -> None:
    """Splicing another responder's payload onto a genuine MAC does not make a valid link."""
    mine = issue_ack_token(CLAIM, KEY)
    theirs = issue_ack_token(replace(CLAIM, responder_id="wang-fang"), KEY)
    invalid(theirs.split(".")[0] + "." + mine.split(".")[1])


def test_token_signed_with_another_key_is_invalid() -> None:
    """A token made with some other key (another service, a guess) is not Muster's."""
    invalid(issue_ack_token(CLAIM, bytes(32)))


def test_previous_key_is_accepted_during_key_rotation() -> None:
    """A link signed with the previous key still works while that key is listed, and stops when it is dropped."""
    token = issue_ack_token(CLAIM, OLD_KEY)
    assert read_ack_token(token, [KEY, OLD_KEY], now=NOW) == CLAIM
    invalid(token, [KEY])


def test_expired_token_names_when_it_expired() -> None:
    """A genuine token is good until the second before its expiry and expired from that second on."""
    token = issue_ack_token(CLAIM, KEY)
    assert read_ack_token(token, KEY, now=CLAIM.expires_at - timedelta(seconds=1)) == CLAIM
    with pytest.raises(AckTokenExpired, match=r"this link expired at 2026-02-17T01:00:00\+00:00"):
        read_ack_token(token, KEY, now=CLAIM.expires_at)


def test_expired_and_altered_token_is_invalid_not_expired() -> None:
    """An altered token is refused as invalid even if it is also out of date: nothing is read before the MAC."""
    token = issue_ack_token(CLAIM, KEY)
    with pytest.raises(AckTokenInvalid):
        read_ack_token(token[:-1] + ("A" if token[-1] != "A" else "B"), KEY, now=NOW + timedelta(days=30))


def test_mac_is_compared_with_compare_digest_before_the_payload_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MAC check is hmac.compare_digest, made for every key, and a bad MAC stops before the JSON is parsed."""
    compared: list[tuple[bytes, bytes]] = []
    parsed: list[object] = []
    real_compare, real_loads = hmac.compare_digest, json.loads

    def spy_compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    def spy_loads(text: str | bytes, **kwargs: Any) -> Any:
        parsed.append(text)
        return real_loads(text, **kwargs)

    monkeypatch.setattr(hmac, "compare_digest", spy_compare)
    monkeypatch.setattr(json, "loads", spy_loads)
    token = issue_ack_token(CLAIM, KEY)
    forged = token.split(".")[0] + "." + issue_ack_token(CLAIM, bytes(32)).split(".")[1]
    invalid(forged, [KEY, OLD_KEY])
    assert len(compared) == 2 and parsed == []
    assert read_ack_token(token, KEY, now=NOW) == CLAIM
    assert compared[-1] == (token.split(".")[1].encode(), token.split(".")[1].encode())
    assert len(parsed) == 1


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "é.abc", "abc.", ".abc", "YWJj.YWJj=", "x" * 5000, "YWJj YWJj"],
    ids=["empty", "one-part", "three-parts", "non-ascii", "no-mac", "no-payload", "padding", "huge", "space"],
)
def test_malformed_tokens_are_invalid(token: str) -> None:
    """Anything that is not two base64url parts of sane size is refused with the same message."""
    assert str(invalid(token)) == "the link was altered or is not Muster's"


def test_claim_keeps_expiry_in_utc_to_the_second() -> None:
    """A claim's expiry is stored as UTC without fractions, so equal claims compare and hash equal."""
    local = datetime(2026, 2, 17, 9, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=8)))
    claim = replace(CLAIM, expires_at=local)
    assert claim.expires_at == datetime(2026, 2, 17, 1, 0, tzinfo=UTC)
    assert claim.expires_at.tzinfo is UTC
    assert claim == CLAIM and hash(claim) == hash(CLAIM)
    assert read_ack_token(issue_ack_token(claim, KEY), KEY, now=NOW) == claim


def test_claim_key_names_the_link_for_the_action_log() -> None:
    """The log's key for an answer is incident/step/responder/round/purpose."""
    assert claim_key(CLAIM) == "inc-20260216-0001/muster-rescue/zhao-lei/0/ack"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expires_at": datetime(2026, 2, 17, 1, 0)}, "time zone"),
        ({"purpose": "answer"}, "'ack' or 'task'"),
        ({"round": -1}, "round"),
        ({"responder_id": ""}, "responder_id"),
    ],
    ids=["naive-expiry", "purpose", "negative-round", "empty-responder"],
)
def test_malformed_claims_are_refused(change: dict[str, Any], message: str) -> None:
    """A claim without a zone on its expiry, with an unknown purpose, a negative round or an empty id is refused."""
    with pytest.raises(ValueError, match=message):
        replace(CLAIM, **change)


def test_short_signing_key_is_refused() -> None:
    """Issuing or reading with a key under 32 bytes is a programming error, not a weak link."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        issue_ack_token(CLAIM, b"short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        read_ack_token(issue_ack_token(CLAIM, KEY), [KEY, b"short"], now=NOW)


def test_key_file_is_created_once_with_owner_only_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without MUSTER_SECRET_KEY, the key is 32 random bytes in home/secret.key, mode 0600, and reused after."""
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    home = tmp_path / "home"
    key = ack_key(home)
    path = home / "secret.key"
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ack_key(home) == key
    assert sorted(p.name for p in home.iterdir()) == ["secret.key"]  # no temporary file left behind


def test_concurrent_first_starts_share_one_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen starts racing to create the key all end up with the same key, the one on disk."""
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    barrier = threading.Barrier(16)
    keys: list[bytes] = []

    def start() -> None:
        barrier.wait()
        keys.append(ack_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 16 and set(keys) == {(tmp_path / "secret.key").read_bytes()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


@pytest.mark.parametrize(
    "encode",
    [bytes.hex, lambda k: base64.b64encode(k).decode(), lambda k: base64.urlsafe_b64encode(k).decode().rstrip("=")],
    ids=["hex", "base64", "base64url-unpadded"],
)
def test_key_from_the_environment_wins_over_the_file(
    encode: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MUSTER_SECRET_KEY in hex or base64 is the key, and no key file is made."""
    secret = bytes(range(200, 240))
    monkeypatch.setenv("MUSTER_SECRET_KEY", encode(secret))
    assert ack_key(tmp_path) == secret
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("00112233445566778899aabbccddeeff", "decodes to 16 bytes; a link-signing key needs at least 32"),
        ("not a key at all!", "neither hex nor base64"),
    ],
    ids=["too-short", "garbage"],
)
def test_unusable_key_in_the_environment_is_a_clear_error(
    value: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MUSTER_SECRET_KEY that is too short or not hex/base64 is refused, says how to make one, and is not echoed."""
    monkeypatch.setenv("MUSTER_SECRET_KEY", value)
    with pytest.raises(ConfigError, match=message) as info:
        ack_key(tmp_path)
    assert "secrets.token_hex(32)" in str(info.value)
    assert value not in str(info.value)


def test_truncated_key_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key file holding fewer than 32 bytes is refused with its path, not padded or replaced."""
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    (tmp_path / "secret.key").write_bytes(b"x" * 10)
    with pytest.raises(ConfigError, match=r"secret.key holds 10 bytes; a link-signing key needs at least 32"):
        ack_key(tmp_path)
