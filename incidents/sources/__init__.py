"""Intake sources: what monitoring and warning systems send, read into Muster intake events.

Pure functions, no I/O: the HTTP service calls one parser per format and then
:func:`choose_playbook` to pick the incident type and playbook.

    parse_muster        Muster's own JSON              POST /v1/incidents, muster trigger
    parse_pagerduty     PagerDuty Events API v2        POST /v2/enqueue
    parse_alertmanager  Alertmanager webhook v4        POST /v1/alertmanager
    parse_cap           OASIS CAP 1.2 XML              POST /v1/cap

Every parser returns a list of :class:`SourceEvent` (empty when the payload is
valid but is no incident, such as a CAP Test) and raises ``IntakeError`` with
(field path, message) pairs for anything it cannot accept.
"""

from incidents.sources._alertmanager import parse_alertmanager
from incidents.sources._cap import parse_cap
from incidents.sources._event import EventAction, SourceEvent, SourceFormat
from incidents.sources._mapping import MappingRule, choose_playbook
from incidents.sources._muster import parse_muster
from incidents.sources._pagerduty import parse_pagerduty

__all__ = [
    "EventAction",
    "MappingRule",
    "SourceEvent",
    "SourceFormat",
    "choose_playbook",
    "parse_alertmanager",
    "parse_cap",
    "parse_muster",
    "parse_pagerduty",
]
