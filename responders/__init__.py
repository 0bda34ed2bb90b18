"""Responders: the roster of people, their roles and contact points."""

from responders.roster import Contact, Person, Roster

__all__ = ["Contact", "Person", "Roster"]
