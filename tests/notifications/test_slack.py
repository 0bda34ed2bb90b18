"""The Slack webhook channel and its twin: text and blocks, escaping, limits, batching, answers, the url kept secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import ChannelConfig, DeliveryOutcome, DeliveryStatus, Message, build_channel, deliver
from notifications.channels.slack import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    SlackChannel,
    SlackConfig,
    slack_sections,
)
from notifications.config import RateLimitSetting
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

TOKEN = "bXVzdGVyU2xhY2tUb2tlbg1"
HOOK_URL = f"https://hooks.slack.com/services/T0MUSTER/B0DUTY/{TOKEN}"
ACK = "https://muster.example/ack/tok"
MEMBER = "U0123ABCD"


def make_channel(url: str = HOOK_URL, **settings: Any) -> SlackChannel:
    return SlackChannel(SlackConfig(name="duty-slack", url=url, **settings))


def slack_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-slack", "address": MEMBER} | overrides))


def document(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def answer(status: int, text: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=text, headers=headers, request=httpx.Request("POST", HOOK_URL))


# Message forms


def test_rich_form_is_text_plus_title_section_mention_and_ack_button(make_message: MessageFactory) -> None:
    """format rich: fallback text, a section with the bold title and body, the mention, a 确认收到 button."""
    request = make_channel().build_request(slack_message(make_message, drill=True))
    assert str(request.url) == HOOK_URL
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "确认收到"},
        "url": ACK,
        "style": "primary",
        "action_id": "muster_ack",
    }
    assert document(request) == {
        "text": f"【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：{ACK}\n<@{MEMBER}>",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*【演练】较大火灾*\n某化工厂发生火灾，请立即到岗。"},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<@{MEMBER}>"}},
            {"type": "actions", "elements": [button]},
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def test_text_form_sends_the_framed_text_and_no_blocks(make_message: MessageFactory) -> None:
    """format text: only the framed text with the ack link and the mention; links are never unfurled."""
    sent = document(make_channel(format="text").build_request(slack_message(make_message)))
    assert sent == {
        "text": f"较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：{ACK}\n<@{MEMBER}>",
        "unfurl_links": False,
        "unfurl_media": False,
    }


def test_body_is_escaped_so_it_cannot_ping_the_channel(make_message: MessageFactory) -> None:
    """<!channel>, & and a <link|label> in the body reach Slack escaped, as plain characters."""
    message = slack_message(make_message, body="<!channel> a & b <https://evil.example|确认>")
    sent = document(make_channel().build_request(message))
    escaped = "&lt;!channel&gt; a &amp; b &lt;https://evil.example|确认&gt;"
    assert escaped in sent["text"]
    assert escaped in sent["blocks"][0]["text"]["text"]
    assert "<!channel>" not in json.dumps(sent)


def test_english_button_says_acknowledge_and_drill_says_drill(make_message: MessageFactory) -> None:
    """An English drill message is titled [DRILL] and its button reads Acknowledge."""
    message = slack_message(make_message, language="en", subject="Fire", body="Report.", drill=True)
    blocks = document(make_channel().build_request(message))["blocks"]
    assert blocks[0]["text"]["text"].startswith("*[DRILL] Fire*")
    assert blocks[-1]["elements"][0]["text"]["text"] == "Acknowledge"


def test_address_that_is_not_a_member_id_mentions_nobody(make_message: MessageFactory) -> None:
    """Only member ids (U…/W…) can be @-mentioned; other addresses and no ack link leave just the text."""
    sent = document(make_channel().build_request(slack_message(make_message, address="王伟", ack_url=None)))
    assert "<@" not in sent["text"]
    assert [b["type"] for b in sent["blocks"]] == ["section"]


# Length limits


def test_100kb_body_is_cut_to_slacks_limits_keeping_drill_marker_and_ack_link(make_message: MessageFactory) -> None:
    """A 100 KB body is cut with a marker: text ≤ 40,000, sections ≤ 3,000, ≤ 50 blocks, ack link and mention kept."""
    message = slack_message(make_message, body="现场浓烟，请佩戴呼吸器。\n" * 8_000, drill=True)
    sent = document(make_channel().build_request(message))
    assert MAX_TEXT_CHARS - 100 < len(sent["text"]) <= MAX_TEXT_CHARS
    assert sent["text"].startswith("【演练】较大火灾")
    assert sent["text"].endswith(f"{TRUNCATED_MARKERS['zh']}\n\n收到请确认：{ACK}\n<@{MEMBER}>")
    assert len(sent["blocks"]) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in sent["blocks"] if b["type"] == "section")
    assert sent["blocks"][-1]["elements"][0]["url"] == ACK


def test_text_form_of_a_100kb_body_fits_40000_characters(make_message: MessageFactory) -> None:
    """format text: the text alone is cut to 40,000 characters, escaping counted, ack link kept."""
    sent = document(make_channel(format="text").build_request(slack_message(make_message, body="&" * 100_000)))
    assert MAX_TEXT_CHARS - 10 < len(sent["text"]) <= MAX_TEXT_CHARS
    assert ACK in sent["text"]


def test_sections_are_cut_at_line_breaks_and_never_inside_an_entity() -> None:
    """slack_sections prefers a line break in the second half of the window and never splits &amp;."""
    assert slack_sections("aaaa\nbbbbbb", limit=8) == ["aaaa", "bbbbbb"]
    pieces = slack_sections("x" * 6 + "&amp;" + "y" * 3, limit=8)
    assert pieces == ["xxxxxx", "&amp;yyy"]
    assert slack_sections("") == [""]


def test_message_over_the_limits_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """A subject of 50,000 characters cannot be sent: ChannelError naming the delivery."""
    with pytest.raises(ChannelError, match=r"inc-1/notify-duty/r1/1 is over Slack's limits"):
        make_channel().build_request(slack_message(make_message, subject="标" * 50_000))


# Batching


def test_batch_mentions_every_member_once_in_one_message(make_message: MessageFactory) -> None:
    """One message @-mentions each member id of the batch once; other addresses are not mentioned."""
    addresses = ["U0000001", "W0000002", "U0000001", "someone@example"]
    batch = [slack_message(make_message, recipient_id=f"r{i}", address=a) for i, a in enumerate(addresses)]
    sent = document(make_channel().build_batch_request(batch))
    assert sent["text"].endswith("\n<@U0000001> <@W0000002>")
    assert sent["blocks"][1]["text"]["text"] == "<@U0000001> <@W0000002>"


def test_batch_with_another_text_is_refused(make_message: MessageFactory) -> None:
    """Messages with different bodies cannot share one request."""
    batch = [slack_message(make_message), slack_message(make_message, recipient_id="r2", body="别的")]
    with pytest.raises(ChannelError, match="differs"):
        make_channel().build_batch_request(batch)


# Answers


@pytest.mark.parametrize(
    ("status", "text", "outcome", "named"),
    [
        (200, "ok", DeliveryStatus.DELIVERED, "ok"),
        (400, "invalid_payload", DeliveryStatus.FAILED, "invalid_payload"),
        (403, "invalid_token", DeliveryStatus.FAILED, "invalid_token"),
        (403, "action_prohibited", DeliveryStatus.FAILED, "action_prohibited"),
        (404, "channel_not_found", DeliveryStatus.FAILED, "channel_not_found"),
        (404, "no_service", DeliveryStatus.FAILED, "no_service"),
        (410, "channel_is_archived", DeliveryStatus.FAILED, "channel_is_archived"),
        (500, "rollup_error", DeliveryStatus.RETRY, "rollup_error"),
        (503, "", DeliveryStatus.RETRY, "HTTP 503"),
        (200, "<html>captive portal</html>", DeliveryStatus.FAILED, "not Slack's answer"),
        (302, "", DeliveryStatus.FAILED, "redirect"),
    ],
)
def test_answer_decides_the_outcome_and_names_slacks_error(
    status: int, text: str, outcome: DeliveryStatus, named: str
) -> None:
    """200 ok is delivered, Slack's error strings fail for good by name, 5xx is retried."""
    result = make_channel().parse_response(answer(status, text))
    assert (result.status, result.http_status) == (outcome, status)
    assert named in result.reason


def test_429_is_rate_limited_with_the_retry_after_slack_asked() -> None:
    """429 with Retry-After 3 is RATE_LIMITED, waiting 3 s."""
    result = make_channel().parse_response(answer(429, "rate_limited", {"Retry-After": "3"}))
    assert (result.status, result.retry_after) == (DeliveryStatus.RATE_LIMITED, 3.0)


async def test_deliver_through_a_mock_transport_fails_an_archived_channel_once(make_message: MessageFactory) -> None:
    """deliver() sends the built request as built and stops after one 410 channel_is_archived."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(410, text="channel_is_archived")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        [outcome] = await deliver(
            [slack_message(make_message)], {"duty-slack": make_channel()}, ledger=MemoryLedger(), client=client
        )
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "channel_is_archived" in outcome.result.reason
    assert [str(r.url) for r in seen] == [HOOK_URL]
    assert "authorization" not in seen[0].headers


# The url is the credential


def test_url_never_appears_in_reprs_reasons_or_the_pacing_key(make_message: MessageFactory) -> None:
    """repr and str of config and channel, reasons echoing the url, and the pacing key hold neither url nor token."""
    config = SlackConfig(name="duty-slack", url=HOOK_URL)
    echoed = make_channel().parse_response(answer(404, f"no_service {HOOK_URL}"))
    shown = [repr(config), str(config), repr(build_channel(config)), echoed.reason]
    shown.append(make_channel().pacing_key(slack_message(make_message)))
    assert all(TOKEN not in text for text in shown)


def test_misconfiguration_errors_do_not_show_the_url() -> None:
    """A wrong url or a wrong field is refused without printing the url back."""
    with pytest.raises(ChannelError, match="Slack incoming webhook address") as wrong_url:
        make_channel(url=f"https://hooks.slack.com/other/{TOKEN}")
    with pytest.raises(ChannelError, match="secret") as wrong_field:
        build_channel(ChannelConfig(name="duty-slack", type="slack", url=HOOK_URL, secret="s3cr3t"))
    assert TOKEN not in str(wrong_url.value) + str(wrong_field.value)


def test_slack_config_has_no_signing_secret() -> None:
    """Slack webhooks are not signed: a secret is refused instead of being silently ignored."""
    with pytest.raises(ValidationError, match="secret"):
        SlackConfig(name="duty-slack", url=HOOK_URL, secret="s3cr3t")


def test_registry_builds_slack_from_a_generic_config() -> None:
    """type slack in channels.yaml builds a SlackChannel, paced at 1 message a second per webhook."""
    channel = build_channel(ChannelConfig(name="duty-slack", type="slack", url=HOOK_URL))
    assert isinstance(channel, SlackChannel)
    assert [(r.count, r.per_s) for r in channel.rate_limits] == [(1, 1)]


# The twin, and end to end

SIM_TOKEN = "SimToken0001"


@pytest.fixture
async def slack_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows webhook T1/B1 with token SIM_TOKEN."""
    async with Simulator(credentials={"slack": {"T1/B1": SIM_TOKEN}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, token: str = SIM_TOKEN, hook: str = "T1/B1", **settings: Any) -> SlackChannel:
    return make_channel(url=f"{simulator.url}/slack/services/{hook}/{token}", **settings)


async def delivered(messages: list[Message], channel: SlackChannel) -> list[DeliveryOutcome]:
    return await deliver(messages, {"duty-slack": channel}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_same_text_to_two_members_is_one_delivered_message(
    slack_twin: Simulator, make_message: MessageFactory
) -> None:
    """Two recipients of the same text and ack link go as one message mentioning both, answered ok."""
    messages = [slack_message(make_message, recipient_id=f"r{i}", address=f"U000000{i}") for i in (1, 2)]
    outcomes = await delivered(messages, sim_channel(slack_twin))
    assert [(o.result.status, o.result.reason) for o in outcomes] == [(DeliveryStatus.DELIVERED, "Slack ok")] * 2
    [record] = slack_twin.records
    assert (record["status"], record["name"], record["path"]) == (200, "webhook-T1/B1", "/slack/services/T1/B1/…")
    assert record["body"]["text"].endswith("<@U0000001> <@U0000002>")


@pytest.mark.parametrize(
    ("hook", "token", "status", "error"),
    [("T1/B9", SIM_TOKEN, 404, "no_service"), ("T1/B1", "WrongToken01", 403, "invalid_token")],
)
async def test_wrong_webhook_fails_once_with_slacks_error(
    slack_twin: Simulator, make_message: MessageFactory, hook: str, token: str, status: int, error: str
) -> None:
    """An unknown webhook is answered 404 no_service, a wrong token 403 invalid_token: FAILED after one attempt."""
    [outcome] = await delivered([slack_message(make_message)], sim_channel(slack_twin, token=token, hook=hook))
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.FAILED, status, 1)
    assert error in outcome.result.reason and token not in outcome.result.reason


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    slack_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 503 then ok: delivered on the second attempt, and the twin saw exactly one accepted message."""
    slack_twin.script(f"/slack/services/T1/B1/{SIM_TOKEN}", fail_times=1)
    [outcome] = await delivered([slack_message(make_message)], sim_channel(slack_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r["status"] for r in slack_twin.records] == [503, 200]


async def test_429_retry_after_is_honoured_before_the_next_attempt(
    slack_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 429 asking Retry-After 0.3 s is waited out (backoff alone would wait ≤ 0.05 s), then delivered."""
    slack_twin.script(f"/slack/services/T1/B1/{SIM_TOKEN}", fail_times=1, fail_status=429, retry_after_s=0.3)
    channel = sim_channel(slack_twin, rate_limit=RateLimitSetting(count=100, per_s=1))  # pacing out of the way
    ledger = MemoryLedger()
    [outcome] = await deliver(
        [slack_message(make_message)], {"duty-slack": channel}, ledger=ledger, backoff_base=0.01, backoff_cap=0.05
    )
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    first = ledger.attempts[0].result
    assert (first.status, first.retry_after) == (DeliveryStatus.RATE_LIMITED, 0.3)
    times = [datetime.fromisoformat(r["received_at"]) for r in slack_twin.records]
    assert (times[1] - times[0]).total_seconds() >= 0.3


async def test_twin_answers_429_with_retry_after_beyond_one_message_a_second(
    slack_twin: Simulator, make_message: MessageFactory
) -> None:
    """The second message within a second to one webhook is answered 429 rate_limited, Retry-After 1."""
    request = sim_channel(slack_twin).build_request(slack_message(make_message))
    async with httpx.AsyncClient() as client:
        answers = [await client.send(request) for _ in range(2)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "ok"), (429, "rate_limited")]
    assert answers[1].headers["Retry-After"] == "1"


async def test_twin_refuses_more_than_50_blocks(slack_twin: Simulator) -> None:
    """51 blocks are answered 400 invalid_blocks."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    async with httpx.AsyncClient() as client:
        response = await client.post(sim_channel(slack_twin).config.url, json={"text": "x", "blocks": blocks})
    assert (response.status_code, response.text) == (400, "invalid_blocks")


async def test_records_never_hold_the_token(slack_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin's records name the webhook by T/B and never hold its token."""
    await delivered([slack_message(make_message)], sim_channel(slack_twin))
    assert SIM_TOKEN not in json.dumps(slack_twin.records, ensure_ascii=False)
