"""Responders: the roster of people, their roles and contact points, on-call rotations and overrides,
the escalation chain, and the signed links they answer through."""

from responders.acks import AckClaim, AckPurpose, ack_key, claim_key, issue_ack_token, read_ack_token
from responders.escalation import EscalationCycle, escalation_chain
from responders.oncall import DutySource, Override, Rotation, Shift
from responders.roster import Contact, Duty, Person, Roster

__all__ = [
    "AckClaim",
    "AckPurpose",
    "Contact",
    "Duty",
    "DutySource",
    "EscalationCycle",
    "Override",
    "Person",
    "Roster",
    "Rotation",
    "Shift",
    "ack_key",
    "claim_key",
    "escalation_chain",
    "issue_ack_token",
    "read_ack_token",
]
