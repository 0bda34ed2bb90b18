"""What the group robots DingTalk and WeCom share: who a message @-mentions, and how their answers read.

Both answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; another errcode names the
problem, and the robot's table of codes says what it means for delivery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

import httpx

from notifications.answers import answer_excerpt, json_answer
from notifications.credentials import without_credentials
from notifications.http_status import unreadable_answer
from notifications.message import DeliveryResult, DeliveryStatus, Message

__all__ = ["MOBILE", "errcode_result", "mentioned", "split_mentions"]

MOBILE: Final = re.compile(r"\+?\d{5,15}")  # an address of digits is a mobile number, any other a user id
_UNKNOWN: Final = (DeliveryStatus.FAILED, "not a code Muster knows")


def mentioned(messages: Sequence[Message]) -> list[str]:
    """Who a group message @-mentions: each recipient with an address, once, in order."""
    return list(dict.fromkeys(m.address for m in messages if m.address))


def split_mentions(addresses: Sequence[str]) -> tuple[list[str], list[str]]:
    """The addresses to @-mention as (mobile numbers, user ids), each in the order given."""
    mobiles = [a for a in addresses if MOBILE.fullmatch(a)]
    return mobiles, [a for a in addresses if a not in mobiles]


def errcode_result(
    response: httpx.Response,
    *,
    vendor: str,
    errcodes: Mapping[int, tuple[DeliveryStatus, str]],
    waits: Mapping[int, float],
    credentials: Sequence[str],
) -> DeliveryResult:
    """Read the errcode: 0 delivered; a code of ``errcodes`` as it says (waiting ``waits``); any other failed.

    The reason quotes the errmsg with ``credentials`` cut out; an answer without an errcode
    is judged by its HTTP status, and a 2xx one fails as not the robot's.
    """
    answer = json_answer(response) or {}
    code = answer.get("errcode")
    if not isinstance(code, int) or isinstance(code, bool):
        return unreadable_answer(response, f"{vendor} robot", credentials)
    if code == 0:
        return DeliveryResult(DeliveryStatus.DELIVERED, f"{vendor} errcode 0 (ok)", response.status_code)
    status, meaning = errcodes.get(code, _UNKNOWN)
    errmsg = answer_excerpt(str(answer.get("errmsg", "")), credentials)
    reason = without_credentials(f"{vendor} errcode {code} ({errmsg}): {meaning}", credentials)
    return DeliveryResult(status, reason, response.status_code, waits.get(code))
