"""Fitting a message into a vendor's limits: the longest body that fits, and one text for a batch of recipients."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from muster.errors import ChannelError
from notifications.framing import TRUNCATED_MARKERS, checked_language
from notifications.message import Message

__all__ = ["batch_text", "fit_body", "fitted_body", "fitted_content"]

# What a message's author can do when even an empty body does not fit.
SHORTEN: Final = "shorten its subject or ack link"
Render = Callable[[str], bytes]  # a channel's request body around a given message body


def fit_body(body: str, fits: Callable[[str], bool], marker: str) -> str | None:
    """``body`` if it fits, else its longest prefix that fits with ``marker`` after it; None if nothing fits."""
    if fits(body):
        return body
    if not fits(marker):
        return None
    kept, too_long = 0, len(body)  # the longest prefix that fits, by bisection
    while too_long - kept > 1:
        middle = (kept + too_long) // 2
        if fits(body[:middle] + marker):
            kept = middle
        else:
            too_long = middle
    return body[:kept] + marker


def fitted_body(
    message: Message,
    fits: Callable[[str], bool],
    *,
    channel: str,
    limit: str,
    remedy: str = SHORTEN,
    markers: Mapping[str, str] = TRUNCATED_MARKERS,
) -> str:
    """The message's body as it fits (cut with the marker of its language), or ChannelError naming the message.

    ``limit`` says what was exceeded ("20000 bytes") and ``remedy`` what the author can do.
    """
    body = fit_body(message.body, fits, markers[checked_language(message)])
    if body is None:
        raise ChannelError(
            f"channel {channel!r}: message {message.delivery_key} is over {limit} even with an empty body"
            + (f"; {remedy}" if remedy else "")
        )
    return body


def fitted_content(message: Message, render: Render, max_bytes: int, *, channel: str, remedy: str = SHORTEN) -> bytes:
    """What ``render`` makes of the message around its body cut to fit ``max_bytes``; ChannelError if nothing fits."""
    body = fitted_body(
        message, lambda b: len(render(b)) <= max_bytes, channel=channel, limit=f"{max_bytes} bytes", remedy=remedy
    )
    return render(body)


def batch_text(messages: Sequence[Message], *, channel: str, max_batch: int) -> Message:
    """The first message of a batch, once every message is checked to say the same on the same channel."""
    if not messages:
        raise ChannelError(f"channel {channel!r}: a batch needs at least one message")
    if len(messages) > max_batch:
        raise ChannelError(f"channel {channel!r}: {len(messages)} messages in one batch, at most {max_batch}")
    first = messages[0]
    same = (first.channel, first.language, first.subject, first.body, first.drill, first.ack_url)
    for message in messages[1:]:
        if (message.channel, message.language, message.subject, message.body, message.drill, message.ack_url) != same:
            raise ChannelError(
                f"channel {channel!r}: message {message.delivery_key} differs from {first.delivery_key}; "
                "one request carries only messages with the same channel, language, subject, body, drill and ack link"
            )
    return first
