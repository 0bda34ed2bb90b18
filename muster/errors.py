"""The one error tree of Muster.

Every error says what went wrong, where (file:line, field path, channel, step)
and what to do about it. Outcomes that are expected in operation (a message that
could not be delivered, a step that was skipped) are values, not exceptions.

    MusterError
    ├── ConfigError                 a config file (roster, channels) is wrong
    │   └── PlaybookError           a playbook file is wrong; carries every problem found
    ├── ConditionError              a `when` expression cannot be parsed or evaluated
    ├── TemplateError               a message template cannot be rendered
    ├── IncidentError               an incident's fields are missing or wrong
    │   └── IntakeError             an intake payload (PagerDuty, Alertmanager, CAP, JSON) is not acceptable
    ├── ChannelError                a channel is unknown, misconfigured or failed to load
    ├── AckTokenError               an ack or task link cannot be used
    │   ├── AckTokenInvalid         tampered, malformed, or signed with another key (HTTP 403)
    │   └── AckTokenExpired         past its expiry (HTTP 410)
    ├── ActionLogError              the action log cannot be read or written
    │   └── ChainBroken             the hash chain of an incident does not verify
    └── ReportError                 the PDF report cannot be rendered

This module is a leaf: it imports nothing from the project, so every package
may import it without pulling in the composition root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AckTokenError",
    "AckTokenExpired",
    "AckTokenInvalid",
    "ActionLogError",
    "ChainBroken",
    "ChannelError",
    "ConditionError",
    "ConfigError",
    "IncidentError",
    "IntakeError",
    "MusterError",
    "PlaybookError",
    "Problem",
    "ReportError",
    "TemplateError",
]


class MusterError(Exception):
    """Root of every error Muster raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file, located as ``path:line:col``."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ConfigError(MusterError):
    """A configuration file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems)
            return
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PlaybookError(ConfigError):
    """A playbook is invalid; ``problems`` lists every problem found."""


class ConditionError(MusterError):
    """A `when` expression is not valid in Muster's condition language."""


class TemplateError(MusterError):
    """A message template failed to render."""


class IncidentError(MusterError):
    """An incident is missing a field or has a wrong value."""


class IntakeError(IncidentError):
    """An intake payload cannot be accepted; ``problems`` holds (field path, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[tuple[str, str], ...] = (("", problems),)
        else:
            self.problems = tuple(problems)
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in self.problems))


class ChannelError(MusterError):
    """A channel is unknown, misconfigured, or could not be loaded."""


class AckTokenError(MusterError):
    """An acknowledgement or task link cannot be used; the message says why, never the token."""


class AckTokenInvalid(AckTokenError):
    """The token was altered, is malformed, or was signed with another key."""


class AckTokenExpired(AckTokenError):
    """The token is genuine but past its expiry."""


class ActionLogError(MusterError):
    """The action log could not be read or written."""


class ChainBroken(ActionLogError):
    """An incident's hash chain does not verify; ``seq`` is the first bad entry."""

    def __init__(self, incident_id: str, seq: int, reason: str) -> None:
        self.incident_id = incident_id
        self.seq = seq
        self.reason = reason
        super().__init__(f"incident {incident_id}: entry #{seq} does not verify: {reason}")


class ReportError(MusterError):
    """The PDF report could not be rendered or stored."""
