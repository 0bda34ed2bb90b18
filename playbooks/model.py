"""The plan language: a playbook and its parts, as pydantic models.

A playbook is data. Nothing in it can run code: conditions are parsed by
:mod:`playbooks.conditions` and templates render in Jinja's immutable sandbox.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from playbooks.durations import PATTERN as DURATION_PATTERN
from playbooks.durations import Duration

__all__ = [
    "ID_PATTERN",
    "AckSpec",
    "Deadline",
    "HttpStep",
    "Language",
    "Level",
    "LocalizedText",
    "NotifyStep",
    "Playbook",
    "ReportStep",
    "Role",
    "Step",
    "StepKind",
    "TaskStep",
    "Tier",
    "WaitStep",
    "localize",
]

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Language = Literal["zh", "en"]
LocalizedText = str | dict[Language, str]
"""Text in one form for every language, or per language: ``{zh: 救援, en: Rescue}``."""


def localize(text: LocalizedText, language: str) -> str:
    """The text in ``language``, falling back to Chinese, then to any language present."""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get("zh") or next(iter(text.values()), "")  # type: ignore[call-overload]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepKind(StrEnum):
    """The kinds of step a plan can contain."""

    NOTIFY = "notify"
    TASK = "task"
    REPORT = "report"
    WAIT = "wait"
    HTTP = "http"


class Tier(StrEnum):
    """Plan tiers of GB/T 29639-2020."""

    COMPREHENSIVE = "comprehensive"  # 综合应急预案
    SPECIAL = "special"  # 专项应急预案
    ONSITE = "onsite"  # 现场处置方案


class Role(_Strict):
    """A role the plan names; the roster says who holds it."""

    name: LocalizedText
    duties: LocalizedText | None = None


class Level(_Strict):
    """A response level. Levels are listed lowest first; the highest whose `when` holds applies."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")
    name: LocalizedText
    when: str | None = Field(default=None, description="Condition on the incident; the lowest level has none")


class AckSpec(_Strict):
    """How a step waits for acknowledgements, repeats and escalates."""

    within: Duration
    repeat: int = Field(default=0, ge=0, le=10)
    every: Duration | None = None
    need: Literal["all", "any"] | Annotated[int, Field(ge=1)] = "all"
    escalate_to: str | None = Field(default=None, description="A role, or `chain` for the roster's chain")


class Deadline(_Strict):
    """A deadline measured from a moment of the incident."""

    within: Duration
    from_: Literal["occurred_at", "reported_at"] = Field(default="occurred_at", alias="from")
    warn_before: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"within": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """Accept the ``deadline: 1h`` shorthand in editors too."""
        return {"anyOf": [handler(core), {"type": "string", "pattern": DURATION_PATTERN}]}


class _StepBase(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: LocalizedText
    needs: list[str] = Field(default_factory=list)
    when: str | None = None
    min_level: str | None = Field(default=None, description="Run only at this response level or higher")


class _Messaging(_StepBase):
    to: list[str] = Field(min_length=1, description="Roles to reach")
    message: LocalizedText = Field(description="Jinja template of the message body, per language")
    ack: AckSpec | None = None


class NotifyStep(_Messaging):
    """Reach every holder of the named roles."""

    kind: Literal[StepKind.NOTIFY]


class TaskStep(_Messaging):
    """Assign a task that a person must confirm is done."""

    kind: Literal[StepKind.TASK]
    deadline: Deadline | None = None


class ReportStep(_Messaging):
    """An upward report that must go out before its legal deadline."""

    kind: Literal[StepKind.REPORT]
    report_to: LocalizedText = Field(description="The authority the report goes to")
    deadline: Deadline


class WaitStep(_StepBase):
    """Pause the plan for a while, e.g. for a first assessment."""

    kind: Literal[StepKind.WAIT]
    duration: Duration


class HttpStep(_StepBase):
    """Call an outside system (siren, broadcast) through a target named in the channels config."""

    kind: Literal[StepKind.HTTP]
    target: str = Field(pattern=ID_PATTERN, description="An http target from the channels config")
    body: dict[str, str] = Field(default_factory=dict, description="JSON fields; values are Jinja templates")


Step = Annotated[NotifyStep | TaskStep | ReportStep | WaitStep | HttpStep, Field(discriminator="kind")]


class Playbook(_Strict):
    """One emergency plan: its scope, roles, response levels and steps."""

    id: str = Field(pattern=ID_PATTERN)
    version: int = Field(default=1, ge=1)
    tier: Tier = Tier.SPECIAL
    title: LocalizedText
    summary: LocalizedText | None = None
    incident_types: list[str] = Field(min_length=1)
    languages: list[Language] = Field(default_factory=lambda: list[Language](["zh", "en"]), min_length=1)
    timezone: str = Field(default="Asia/Shanghai", description="IANA zone for times shown in messages")
    basis: list[str] = Field(default_factory=list, description="Laws and standards the plan follows")
    roles: dict[Annotated[str, Field(pattern=ID_PATTERN)], Role] = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)

    def level_rank(self, level_id: str) -> int:
        """The level's position, 0 for the lowest."""
        return [level.id for level in self.levels].index(level_id)

    def step(self, step_id: str) -> NotifyStep | TaskStep | ReportStep | WaitStep | HttpStep:
        """The step with that id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
