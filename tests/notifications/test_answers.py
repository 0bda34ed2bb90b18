"""Reasons quote what a vendor said scrubbed first and cut after, so no piece of a credential survives the cut."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from notifications import Channel, build_channel, parse_channel_config
from notifications.answers import EXCERPT_CHARS, answer_excerpt

WINDOW = 8  # no run of this many characters of a credential may reach a reason

DINGTALK_TOKEN = "DtTok3n-AbCdEfGh-12345678"
WECOM_KEY = "WcK3y-693a91f6-4bc4-97a0"
FEISHU_HOOK = "Fs-2b1c7e9a-5d4f-4e1a-9c3b"
ALIYUN_SECRET = "AliSecret-muster-0001-zyxw"
SLACK_TOKEN = "SlackT0ken9876543210qrst"
TEAMS_SIG = "TeamsSig-Zx9mQ2bT1vW8yH4k"
TWILIO_TOKEN = "f00dfeedcafe0123456789abcdefbeef"
PAGERDUTY_KEY = "R0MUSTERPAGERDUTYKEY0000000000AB"

ENTRIES: dict[str, dict[str, Any]] = {
    "dingtalk": {"url": f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}", "secret": "SECtest"},
    "wecom": {"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"},
    "feishu": {"url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_HOOK}"},
    "aliyun_sms": {
        "access_key_id": "LTAI5tMusterTestKey01",
        "access_key_secret": ALIYUN_SECRET,
        "sign_name": "某市应急管理局",
        "template_code": "SMS_123456789",
    },
    "slack": {"url": f"https://hooks.slack.com/services/T0MUSTER/B0DUTY/{SLACK_TOKEN}"},
    "teams": {"url": f"https://prod-12.westus.logic.azure.com/workflows/8f0c2d/paths/invoke?sig={TEAMS_SIG}"},
    "twilio_sms": {
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": TWILIO_TOKEN,
        "from_number": "+15005550006",
    },
    "pagerduty": {"routing_key": PAGERDUTY_KEY},
}


def channel(type_name: str) -> Channel:
    return build_channel(parse_channel_config({"name": f"duty-{type_name}", "type": type_name, **ENTRIES[type_name]}))


def as_json(status: int, document: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(document).encode(), headers={"content-type": "application/json"})


def as_text(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, content=text.encode(), headers={"content-type": "text/plain"})


Answer = Callable[[str], httpx.Response]
# (channel type, its credential, an answer quoting the given text): vendor codes, and answers without one.
CASES: list[tuple[str, str, Answer]] = [
    ("dingtalk", DINGTALK_TOKEN, lambda said: as_json(200, {"errcode": 310000, "errmsg": said})),
    ("dingtalk", DINGTALK_TOKEN, lambda said: as_text(200, said)),
    ("wecom", WECOM_KEY, lambda said: as_json(200, {"errcode": 93000, "errmsg": said})),
    ("wecom", WECOM_KEY, lambda said: as_text(502, said)),
    ("feishu", FEISHU_HOOK, lambda said: as_json(200, {"code": 19021, "msg": said})),
    ("aliyun_sms", ALIYUN_SECRET, lambda said: as_json(400, {"Code": "SignatureDoesNotMatch", "Message": said})),
    ("slack", SLACK_TOKEN, lambda said: as_text(400, said)),
    ("teams", TEAMS_SIG, lambda said: as_json(401, {"error": {"code": "Unauthorized", "message": said}})),
    ("twilio_sms", TWILIO_TOKEN, lambda said: as_json(400, {"code": 21211, "message": said})),
    ("pagerduty", PAGERDUTY_KEY, lambda said: as_json(400, {"status": "invalid event", "message": said})),
]


def pieces(credential: str) -> list[str]:
    return [credential[start : start + WINDOW] for start in range(len(credential) - WINDOW + 1)]


def test_excerpt_scrubs_before_it_cuts() -> None:
    """A credential that straddles the cut is removed whole, then the text is cut."""
    said = "x" * (EXCERPT_CHARS - 10) + DINGTALK_TOKEN + " and more"
    excerpt = answer_excerpt(said, [DINGTALK_TOKEN])
    assert excerpt == "x" * (EXCERPT_CHARS - 10) + "… and more"
    assert not any(piece in excerpt for piece in pieces(DINGTALK_TOKEN))


@pytest.mark.parametrize(("type_name", "credential", "answer"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_no_piece_of_a_credential_survives_across_the_cut(type_name: str, credential: str, answer: Answer) -> None:
    """Wherever the vendor's text puts the credential around the cut (200 or 300), no 8 characters of it show."""
    sender = channel(type_name)
    for offset in range(EXCERPT_CHARS - 40, 320):
        reason = sender.parse_response(answer("x" * offset + credential + " tail")).reason
        shown = [piece for piece in pieces(credential) if piece in reason]
        assert shown == [], f"offset {offset}: {reason!r}"
