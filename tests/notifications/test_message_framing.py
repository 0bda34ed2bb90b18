"""Message framing: drill marker first, then subject, body and the ack link, per language."""

from __future__ import annotations

import pytest

from muster.errors import TemplateError
from notifications import frame_message


def test_chinese_drill_message_starts_with_the_drill_marker() -> None:
    """A Chinese drill message begins with 【演练】."""
    text = frame_message(body="请到岗", subject="演练：火灾", language="zh", drill=True, ack_url=None)
    assert text.startswith("【演练】演练：火灾")


def test_english_drill_message_starts_with_the_drill_marker() -> None:
    """An English drill message begins with [DRILL]."""
    text = frame_message(body="Report in", subject="Fire", language="en", drill=True, ack_url=None)
    assert text.startswith("[DRILL] Fire")


def test_real_incident_has_no_drill_marker() -> None:
    """A message that is not a drill carries no drill marker in either language."""
    zh = frame_message(body="请到岗", subject="火灾", language="zh", drill=False, ack_url=None)
    en = frame_message(body="Report in", subject="Fire", language="en", drill=False, ack_url=None)
    assert zh == "火灾\n\n请到岗"
    assert en == "Fire\n\nReport in"


def test_ack_link_is_the_last_line_when_given() -> None:
    """The ack link closes the message, introduced in the message's language."""
    zh = frame_message(body="请到岗", subject="火灾", language="zh", drill=False, ack_url="https://m/ack/t")
    en = frame_message(body="Report in", subject="Fire", language="en", drill=False, ack_url="https://m/ack/t")
    assert zh.endswith("\n\n收到请确认：https://m/ack/t")
    assert en.endswith("\n\nAcknowledge: https://m/ack/t")


def test_body_is_data_not_a_template() -> None:
    """Jinja syntax inside the body is sent as written, never evaluated."""
    body = "{{ 7 * 7 }} {% if true %}x{% endif %} <b>&"
    text = frame_message(body=body, subject="s", language="en", drill=False, ack_url=None)
    assert text == "s\n\n" + body


def test_unknown_language_is_a_template_error() -> None:
    """A language without a frame raises TemplateError naming the supported ones."""
    with pytest.raises(TemplateError, match=r"'fr'.*en, zh"):
        frame_message(body="b", subject="s", language="fr", drill=False, ack_url=None)
