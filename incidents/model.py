"""The incident as reported, and the accident grade derived from it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Grade", "Incident", "new_incident_id"]


class Grade(StrEnum):
    """Accident grade of State Council Decree No. 493 (2007), art. 3, lowest first."""

    ORDINARY = "ordinary"
    RELATIVELY_SERIOUS = "relatively_serious"
    SERIOUS = "serious"
    EXTRAORDINARILY_SERIOUS = "extraordinarily_serious"

    @property
    def rank(self) -> int:
        """1 for 一般 up to 4 for 特别重大."""
        return _GRADE_ORDER.index(self) + 1

    @property
    def zh(self) -> str:
        """The grade's name in the decree: 一般, 较大, 重大, 特别重大."""
        return _GRADE_ZH[self]

    @property
    def en(self) -> str:
        """The grade's English name, e.g. ``relatively serious``."""
        return self.value.replace("_", " ")

    def label(self, language: str) -> str:
        """The grade's name in ``language`` (``zh`` or ``en``)."""
        return self.zh if language == "zh" else self.en

    @classmethod
    def parse(cls, text: str) -> Grade:
        """Read a grade from its English value or its Chinese name (``较大`` or ``较大事故``)."""
        cleaned = text.strip().removesuffix("事故")
        for grade in cls:
            if cleaned in (grade.value, grade.zh, grade.en):
                return grade
        names = ", ".join(f"{g.value} ({g.zh})" for g in cls)
        raise ValueError(f"unknown grade {text!r}; use one of {names}")

    def _rank_of(self, other: object) -> int | None:
        if isinstance(other, Grade):
            return other.rank
        if isinstance(other, str):
            return Grade.parse(other).rank
        return None

    # Grades order by severity, not alphabetically; a string operand is read as a grade.
    def __lt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank >= rank

    __hash__ = StrEnum.__hash__


_GRADE_ORDER = list(Grade)
_GRADE_ZH = {
    Grade.ORDINARY: "一般",
    Grade.RELATIVELY_SERIOUS: "较大",
    Grade.SERIOUS: "重大",
    Grade.EXTRAORDINARILY_SERIOUS: "特别重大",
}


def new_incident_id(now: datetime | None = None) -> str:
    """A sortable, readable incident id: ``INC-20261129-0224-7f3a9c``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"INC-{moment:%Y%m%d-%H%M}-{secrets.token_hex(3)}"


class Incident(BaseModel):
    """What was reported: the facts a Decree 493 report (art. 12) asks for.

    The six items of that report map to fields: 1 ``unit`` and ``unit_profile``;
    2 ``occurred_at``, ``location`` and ``scene``; 3 ``description``; 4 ``deaths``,
    ``missing``, ``serious_injuries``, ``injuries`` and ``direct_loss_cny``;
    5 ``measures_taken``; 6 ``other``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str = Field(default_factory=new_incident_id, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,95}$")
    type: str = Field(min_length=1, max_length=64, description="Incident type, e.g. gas_explosion")
    title: str = Field(min_length=1, max_length=300)
    location: str = Field(default="", max_length=500)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    reported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    unit: str = Field(default="", max_length=300, description="The unit (enterprise) where it happened")
    unit_profile: str = Field(default="", max_length=2000)
    scene: str = Field(default="", max_length=4000)
    deaths: int = Field(default=0, ge=0)
    missing: int = Field(default=0, ge=0)
    serious_injuries: int = Field(default=0, ge=0, description="Incl. acute industrial poisoning")
    injuries: int = Field(default=0, ge=0, description="Other injured people")
    direct_loss_cny: int = Field(default=0, ge=0, description="First estimate of direct loss, yuan")
    description: str = Field(default="", max_length=20000)
    measures_taken: str = Field(default="", max_length=20000)
    other: str = Field(default="", max_length=20000)
    reporter: str = Field(default="", max_length=300)
    reporter_phone: str = Field(default="", max_length=64)
    language: str = Field(default="zh", pattern="^(zh|en)$", description="Language of the free text")
    drill: bool = False
    dedup_key: str | None = Field(default=None, max_length=255)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("occurred_at", "reported_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-29T08:15:00+08:00")
        return value.astimezone(UTC)

    @property
    def grade(self) -> Grade:
        """The Decree 493 grade from deaths, serious injuries and direct loss."""
        from incidents.grading import grade_incident

        return grade_incident(
            deaths=self.deaths,
            serious_injuries=self.serious_injuries,
            direct_loss_cny=self.direct_loss_cny,
        )

    def facts(self) -> dict[str, Any]:
        """The incident as plain values for conditions and templates."""
        data = self.model_dump(mode="python")
        data["grade"] = self.grade
        data["casualties"] = self.deaths + self.missing + self.serious_injuries + self.injuries
        return data
