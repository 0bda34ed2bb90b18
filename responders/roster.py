"""The roster: people, the roles they hold, and how to reach them on each channel."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Contact", "Person", "Roster"]

_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class Contact(BaseModel):
    """One way to reach a person: a configured channel and the address on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(min_length=1, description="Name of a channel in channels.yaml")
    address: str = Field(min_length=1, description="Who to reach on that channel (handle, mobile, user id)")


class Person(BaseModel):
    """A responder: name, language, roles held, contact points in order of preference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    language: str = Field(default="zh", pattern="^(zh|en)$")
    title: str = Field(default="", max_length=100, description="Post, e.g. 安全总监")
    phone: str = Field(default="", max_length=32)
    roles: list[str] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)

    def display_name(self, language: str) -> str:
        """The name to show in ``language``."""
        return self.name_en if language == "en" and self.name_en else self.name


class Roster(BaseModel):
    """Everyone who may be called on, and the roles they hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: list[Person] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Roster:
        seen: set[str] = set()
        for person in self.people:
            if person.id in seen:
                raise ValueError(f"person id {person.id!r} appears twice")
            seen.add(person.id)
        return self

    def holders(self, role: str) -> list[Person]:
        """Everyone holding ``role``, in roster order."""
        return [person for person in self.people if role in person.roles]

    def person(self, person_id: str) -> Person:
        """The person with that id."""
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)

    def roles(self) -> set[str]:
        """Every role someone holds."""
        return {role for person in self.people for role in person.roles}
