"""The Teams Workflows channel and its twin: the Adaptive Card, the 28 KB limit, Azure answers, the sig kept secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from muster.errors import ChannelError
from notifications import ChannelConfig, DeliveryOutcome, DeliveryStatus, Message, build_channel, deliver
from notifications.channels.teams import MAX_BODY_BYTES, TeamsChannel, TeamsConfig
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

SIG = "Zx9mUSTERsigQ2bT1vW8yH4kLpN6rD0cF3gJ5aE7iO"
HOST = "prod-12.westus.logic.azure.com"
WORKFLOW_URL = (
    f"https://{HOST}:443/workflows/8f0c2d/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
ACK = "https://muster.example/ack/tok"
CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def make_channel(url: str = WORKFLOW_URL, **settings: Any) -> TeamsChannel:
    return TeamsChannel(TeamsConfig(name="duty-teams", url=url, **settings))


def teams_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-teams"} | overrides))


def card_of(request: httpx.Request) -> dict[str, Any]:
    document = json.loads(request.content)
    assert document["type"] == "message"
    [attachment] = document["attachments"]
    assert attachment["contentType"] == CARD
    card: dict[str, Any] = attachment["content"]
    return card


def answer(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", WORKFLOW_URL), **kwargs)


# The card


def test_rich_form_is_an_adaptive_card_with_title_body_recipient_and_ack_action(make_message: MessageFactory) -> None:
    """format rich: a 1.4 card with the drill title in Attention, the body, 致：name, and OpenUrl 确认收到."""
    request = make_channel().build_request(teams_message(make_message, drill=True))
    assert request.url == httpx.URL(WORKFLOW_URL)
    assert card_of(request) == {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": "【演练】较大火灾",
                "wrap": True,
                "size": "Medium",
                "weight": "Bolder",
                "color": "Attention",
            },
            {"type": "TextBlock", "text": "某化工厂发生火灾，请立即到岗。", "wrap": True},
            {"type": "TextBlock", "text": "致：王伟", "wrap": True, "isSubtle": True, "spacing": "Small"},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "确认收到", "url": ACK}],
    }


def test_text_form_is_a_card_of_the_framed_text_alone(make_message: MessageFactory) -> None:
    """format text: one TextBlock holding the framed text with the ack link, and no actions."""
    card = card_of(make_channel(format="text").build_request(teams_message(make_message)))
    assert card["body"] == [
        {"type": "TextBlock", "text": f"较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：{ACK}", "wrap": True}
    ]
    assert "actions" not in card


def test_english_card_says_acknowledge_and_to(make_message: MessageFactory) -> None:
    """An English message's action reads Acknowledge and the recipient line To: name."""
    message = teams_message(make_message, language="en", subject="Fire", body="Report.", recipient_name="Wang Wei")
    card = card_of(make_channel().build_request(message))
    assert card["actions"][0]["title"] == "Acknowledge"
    assert card["body"][2]["text"] == "To: Wang Wei"
    assert "color" not in card["body"][0]


def test_message_without_ack_link_has_no_actions(make_message: MessageFactory) -> None:
    """No ack link, no button."""
    assert "actions" not in card_of(make_channel().build_request(teams_message(make_message, ack_url=None)))


# The 28 KB limit


def test_100kb_body_is_cut_to_fit_28kb_keeping_drill_title_and_ack_action(make_message: MessageFactory) -> None:
    """A 100 KB body is cut with a marker so the whole request stays within 27 KiB (Teams: about 28 KB)."""
    request = make_channel().build_request(
        teams_message(make_message, body="现场浓烟，请佩戴呼吸器。" * 3_000, drill=True)
    )
    assert MAX_BODY_BYTES - 16 < len(request.content) <= MAX_BODY_BYTES <= 28 * 1024
    card = card_of(request)
    assert card["body"][0]["text"] == "【演练】较大火灾"
    assert card["body"][1]["text"].endswith(TRUNCATED_MARKERS["zh"])
    assert card["actions"][0]["url"] == ACK


def test_text_form_of_a_100kb_body_keeps_the_ack_link_in_the_text(make_message: MessageFactory) -> None:
    """format text: the cut text still ends with the ack link."""
    request = make_channel(format="text").build_request(teams_message(make_message, body="x" * 100_000))
    assert len(request.content) <= MAX_BODY_BYTES
    assert card_of(request)["body"][0]["text"].endswith(f"{TRUNCATED_MARKERS['zh']}\n\n收到请确认：{ACK}")


def test_message_too_long_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """A subject over 28 KB alone cannot be sent: ChannelError naming the delivery."""
    with pytest.raises(ChannelError, match=r"inc-1/notify-duty/r1/1 is over 27648 bytes"):
        make_channel().build_request(teams_message(make_message, subject="标" * 10_000))


# Answers


@pytest.mark.parametrize(
    ("status", "error", "outcome", "named"),
    [
        (202, None, DeliveryStatus.DELIVERED, "HTTP 202"),
        (200, None, DeliveryStatus.DELIVERED, "HTTP 200"),
        (400, "TriggerInputSchemaMismatch", DeliveryStatus.FAILED, "TriggerInputSchemaMismatch"),
        (401, "DirectApiInvalidAuthorizationSignature", DeliveryStatus.FAILED, "configure the current url"),
        (401, "DirectApiAuthorizationRequired", DeliveryStatus.FAILED, "lacks its sig"),
        (404, "WorkflowNotFound", DeliveryStatus.FAILED, "WorkflowNotFound"),
        (413, None, DeliveryStatus.FAILED, "28 KB"),
        (500, "InternalServerError", DeliveryStatus.RETRY, "InternalServerError"),
        (502, None, DeliveryStatus.RETRY, "HTTP 502"),
    ],
)
def test_answer_decides_the_outcome_naming_azures_error_code(
    status: int, error: str | None, outcome: DeliveryStatus, named: str
) -> None:
    """2xx delivered; 4xx failed for good with Azure's code and what to do; 5xx retried."""
    body = {"error": {"code": error, "message": "m"}} if error else None
    result = make_channel().parse_response(answer(status, json=body) if body else answer(status, text="<html/>"))
    assert (result.status, result.http_status) == (outcome, status)
    assert named in result.reason


def test_429_is_rate_limited_with_retry_after() -> None:
    """429 with Retry-After 2 is RATE_LIMITED, waiting 2 s."""
    result = make_channel().parse_response(answer(429, headers={"Retry-After": "2"}, json={"error": {"code": "x"}}))
    assert (result.status, result.retry_after) == (DeliveryStatus.RATE_LIMITED, 2.0)


def test_reasons_name_the_host_only_and_never_the_sig() -> None:
    """An error echoing the whole url is reported with the host, without the sig or the workflow path."""
    echoed = {"error": {"code": "WorkflowNotFound", "message": f"no workflow at {WORKFLOW_URL}"}}
    reason = make_channel().parse_response(answer(404, json=echoed)).reason
    assert f"https://{HOST}" in reason
    assert SIG not in reason and "8f0c2d/triggers" not in reason


def test_built_request_goes_out_as_built_without_auth(make_message: MessageFactory) -> None:
    """Through a MockTransport the request keeps its sig in the query and carries no Authorization header."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    channel = make_channel()
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.send(channel.build_request(teams_message(make_message)), auth=channel.auth())
    assert channel.parse_response(response).status is DeliveryStatus.DELIVERED
    assert seen[0].url.params["sig"] == SIG
    assert "authorization" not in seen[0].headers


# The sig is the credential


def test_sig_never_appears_in_reprs_or_the_pacing_key(make_message: MessageFactory) -> None:
    """repr and str of config and channel and the pacing key never hold the sig."""
    config = TeamsConfig(name="duty-teams", url=WORKFLOW_URL)
    shown = [
        repr(config),
        str(config),
        repr(build_channel(config)),
        make_channel().pacing_key(teams_message(make_message)),
    ]
    assert all(SIG not in text for text in shown)


def test_url_without_sig_is_refused_without_showing_it() -> None:
    """A workflow url missing its sig cannot reach Teams; the error does not print the url."""
    with pytest.raises(ChannelError, match="with its sig") as refused:
        build_channel(ChannelConfig(name="duty-teams", type="teams", url=WORKFLOW_URL.replace(f"&sig={SIG}", "")))
    assert "8f0c2d" not in str(refused.value)


def test_teams_does_not_batch(make_message: MessageFactory) -> None:
    """A card has no @-mention by address, so a batch request is refused."""
    with pytest.raises(ChannelError, match="does not batch"):
        make_channel().build_batch_request([teams_message(make_message)] * 2)


# The twin, and end to end

WORKFLOW = "wf0001"
SIM_SIG = "SimSig0001abcdef"


@pytest.fixture
async def teams_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows workflow wf0001 with sig SIM_SIG."""
    async with Simulator(credentials={"teams": {WORKFLOW: SIM_SIG}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, sig: str = SIM_SIG, workflow: str = WORKFLOW, **settings: Any) -> TeamsChannel:
    return make_channel(url=f"{simulator.url}/teams/workflows/{workflow}?sig={sig}", **settings)


async def delivered(messages: list[Message], channel: TeamsChannel) -> list[DeliveryOutcome]:
    return await deliver(messages, {"duty-teams": channel}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_cards_are_delivered_end_to_end(teams_twin: Simulator, make_message: MessageFactory) -> None:
    """A rich and a plain card to a known workflow are answered 202 and delivered once each."""
    for channel in (sim_channel(teams_twin), sim_channel(teams_twin, format="text")):
        [outcome] = await delivered([teams_message(make_message)], channel)
        assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [(r["status"], r["signature_valid"]) for r in teams_twin.records] == [(202, True)] * 2


@pytest.mark.parametrize(
    ("workflow", "sig", "status", "code"),
    [
        (WORKFLOW, "WrongSig000000", 401, "DirectApiInvalidAuthorizationSignature"),
        ("wf9999", SIM_SIG, 404, "WorkflowNotFound"),
    ],
)
async def test_wrong_credentials_fail_once_with_azures_error(
    teams_twin: Simulator, make_message: MessageFactory, workflow: str, sig: str, status: int, code: str
) -> None:
    """A wrong sig is answered 401, an unknown workflow 404: FAILED after one attempt, the sig not in the reason."""
    [outcome] = await delivered([teams_message(make_message)], sim_channel(teams_twin, sig=sig, workflow=workflow))
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.FAILED, status, 1)
    assert code in outcome.result.reason and sig not in outcome.result.reason


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    teams_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 503 then 202: delivered on the second attempt, once."""
    teams_twin.script(f"/teams/workflows/{WORKFLOW}", fail_times=1)
    [outcome] = await delivered([teams_message(make_message)], sim_channel(teams_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r["status"] for r in teams_twin.records] == [503, 202]


async def test_twin_throttles_the_fifth_request_within_a_second(
    teams_twin: Simulator, make_message: MessageFactory
) -> None:
    """The twin allows 4 requests a second per workflow; the 5th is 429 with Retry-After."""
    request = sim_channel(teams_twin).build_request(teams_message(make_message))
    async with httpx.AsyncClient() as client:
        answers = [await client.send(request) for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 4 + [429]
    assert answers[-1].headers["Retry-After"] == "1"
    assert answers[-1].json()["error"]["code"] == "TooManyRequests"


BIG_CARD = {
    "type": "message",
    "attachments": [
        {
            "contentType": CARD,
            "content": {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "x" * 30_000}]},
        }
    ],
}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "message", "text": "hi"}, 400, "TriggerInputSchemaMismatch"),
        (BIG_CARD, 413, "RequestEntityTooLarge"),
    ],
)
async def test_twin_refuses_what_is_not_a_card_or_over_28kb(
    teams_twin: Simulator, body: dict[str, Any], status: int, code: str
) -> None:
    """A message without card attachments is 400, one over 28 KB is 413."""
    async with httpx.AsyncClient() as client:
        response = await client.post(sim_channel(teams_twin).config.url, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


async def test_records_never_hold_the_sig(teams_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin's records name the workflow by a fingerprint and never hold its sig."""
    await delivered([teams_message(make_message)], sim_channel(teams_twin))
    assert SIM_SIG not in json.dumps(teams_twin.records, ensure_ascii=False)
    assert teams_twin.records[0]["name"].startswith("workflow-")


async def test_records_never_hold_the_workflow_id(teams_twin: Simulator, make_message: MessageFactory) -> None:
    """A record's path ends in … instead of the workflow id, which the channel keeps secret like the sig."""
    await delivered([teams_message(make_message)], sim_channel(teams_twin))
    [record] = teams_twin.records
    assert (record["path"], record["status"]) == ("/teams/workflows/…", 202)
    assert f"/{WORKFLOW}" not in json.dumps(teams_twin.records, ensure_ascii=False)
