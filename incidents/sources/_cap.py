"""OASIS Common Alerting Protocol 1.2 alerts read into intake events.

CAP arrives as XML from outside, so it is parsed by defusedxml with DTDs, entity
declarations and external references all refused: a "billion laughs" body or an
external entity (``SYSTEM "file:///etc/passwd"``) is an IntakeError, never expanded
or read.

Which alerts make events:

    status   Actual → an event; Exercise → an event with drill=True;
             System, Test, Draft → no event (not an incident; the sender is not at fault)
    msgType  Alert → TRIGGER; Update → UPDATE; Cancel → CANCEL (both must name
             <references>); Ack, Error → no event

An alert is known by its CAP reference ``sender,identifier,sent``, which is the
dedup key and the form <references> uses, so an Update finds what it updates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

# defusedxml ships no type information (types-defusedxml would supply it).
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import fromstring

from incidents.sources._event import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    EventAction,
    SourceEvent,
    clip,
    dedup_key_of,
    incident_fields,
    one_line,
)
from incidents.sources._payload import PayloadReader
from muster.errors import IntakeError

__all__ = ["parse_cap"]

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
NOT_INCIDENTS = frozenset({"System", "Test", "Draft"})
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
ACTIONS = {"Alert": EventAction.TRIGGER, "Update": EventAction.UPDATE, "Cancel": EventAction.CANCEL}
SCOPES = ("Public", "Restricted", "Private")
# CAP 1.2 §3.2.2, in the order the specification lists them.
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
# CAP 1.2 §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted characters (< and &)".
_RESTRICTED = frozenset(",<&")
_INSTRUCTION_LABEL = {"zh": "防御指引：", "en": "Instruction: "}
_NOTE_LABEL = {"zh": "说明：", "en": "Note: "}
_NS = "{" + NAMESPACE + "}"
NEWLINE = b"\n"


def parse_cap(xml: bytes) -> list[SourceEvent]:
    """The event of one CAP 1.2 alert, or none for tests, drafts, system messages, acks and errors."""
    alert = _parse_xml(xml)
    reader = PayloadReader()
    identifier = _reference_part(reader, alert, "identifier")
    sender = _reference_part(reader, alert, "sender")
    sent_text = _text(reader, alert, "sent", "alert", required=True)
    sent = _time(reader, sent_text, "alert.sent")
    status = _text(reader, alert, "status", "alert", required=True, choices=STATUSES)
    msg_type = _text(reader, alert, "msgType", "alert", required=True, choices=MSG_TYPES)
    scope = _text(reader, alert, "scope", "alert", required=True, choices=SCOPES)
    reader.check()
    assert identifier and sender and sent_text and status and msg_type and scope  # required, checked
    if status in NOT_INCIDENTS or msg_type not in ACTIONS:
        return []

    references = _references(reader, alert, msg_type)
    infos = alert.findall(_NS + "info")
    if msg_type == "Alert" and not infos:
        reader.fail("alert.info", "an Alert needs at least one <info> saying what happened")
    for index, info in enumerate(infos):
        _check_info(reader, info, f"alert.info[{index}]")
    reader.check()

    key = dedup_key_of(f"{sender},{identifier},{sent_text}")
    match = {"status": status, "msgType": msg_type, "scope": scope, "sender": sender}
    fields: dict[str, object] = {}
    title = ""
    if infos:
        chosen = _chosen_info(infos)
        info = infos[chosen]
        title = _child(info, "headline") or _child(info, "event")
        match |= _info_matches(info)
        values, paths = _info_fields(alert, infos, chosen)
        values["title"], paths["title"] = clip(one_line(title), TITLE_MAX), f"alert.info[{chosen}].headline"
        if msg_type == "Alert":  # an Update's or Cancel's sent is when it was sent, not when anything happened
            values["occurred_at"], paths["occurred_at"] = sent, "alert.sent"
        fields = incident_fields(values, paths)
    return [
        SourceEvent(
            format="cap",
            action=ACTIONS[msg_type],
            dedup_key=key,
            references=references,
            fields=fields,
            match=match,
            drill=status == "Exercise",
            raw_summary=clip(one_line(f"cap {msg_type} {status} {sender},{identifier}: {title}"), TITLE_MAX),
        )
    ]


def _parse_xml(xml: bytes) -> Element:
    """The <alert> root element; raises IntakeError for unsafe, malformed or non-CAP-1.2 XML."""
    try:
        root: Element = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        refused = (
            f"{_doctype_line(xml)}the CAP body declares a DOCTYPE, which Muster refuses: a DTD can expand "
            "entities without end or read files; send the alert without <!DOCTYPE>"
        )
    except EntitiesForbidden:
        refused = "the CAP body declares an XML entity, which Muster refuses; send it without"
    except ExternalReferenceForbidden:
        refused = "the CAP body refers to an external resource, which Muster refuses"
    except DefusedXmlException:
        refused = "the CAP body uses an XML feature Muster refuses (DTDs, entities, external references)"
    except ParseError as error:
        line, column = error.position
        reason = str(error).rsplit(": line", 1)[0]
        refused = f"the CAP body is not valid XML: {reason} at line {line}, column {column}"
    except (LookupError, ValueError) as error:
        refused = f"the CAP body cannot be decoded ({error}); send it as UTF-8"
    else:
        return _alert_element(root)
    raise IntakeError([("", refused)])


def _alert_element(root: Element) -> Element:
    """``root`` when it is a CAP 1.2 <alert>; an IntakeError naming the wrong element or namespace otherwise."""
    if root.tag == _NS + "alert":
        return root
    namespace, _, name = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if name != "alert":
        raise IntakeError([("", f"the root element must be a CAP <alert>, got <{name}>")])
    got = f"got {namespace}" if namespace else "it has none"
    raise IntakeError([("alert", f"must be in the CAP 1.2 namespace {NAMESPACE}; {got}")])


def _doctype_line(xml: bytes) -> str:
    at = xml.find(b"<!DOCTYPE")
    return f"line {xml.count(NEWLINE, 0, at) + 1}: " if at >= 0 else ""


def _child(parent: Element, name: str) -> str:
    """The stripped text of the first child called ``name``, or ``""``."""
    element = parent.find(_NS + name)
    return (element.text or "").strip() if element is not None else ""


def _text(
    reader: PayloadReader,
    parent: Element,
    name: str,
    where: str,
    *,
    required: bool = False,
    choices: tuple[str, ...] = (),
) -> str | None:
    text = _child(parent, name)
    path = f"{where}.{name}"
    if not text:
        if required:
            reader.fail(path, "is required")
        return None
    if choices and text not in choices:
        reader.fail(path, f"must be one of {', '.join(choices)}, got {text[:40]!r}")
        return None
    return text


def _reference_part(reader: PayloadReader, alert: Element, name: str) -> str | None:
    """identifier or sender: required, and free of what would break a ``sender,identifier,sent`` reference."""
    text = _text(reader, alert, name, "alert", required=True)
    if text is not None and (any(ch.isspace() or ch in _RESTRICTED for ch in text)):
        reader.fail(f"alert.{name}", f"must not contain spaces, commas, < or & (CAP 1.2 §3.2.1), got {text[:60]!r}")
        return None
    return text


def _time(reader: PayloadReader, text: str | None, path: str) -> datetime | None:
    """A CAP dateTime such as 2003-06-17T14:57:00-07:00 (a ``Z`` is accepted too), in UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    reader.fail(path, f"must be a CAP time with its offset, such as 2003-06-17T14:57:00-07:00, got {text[:40]!r}")
    return None


def _references(reader: PayloadReader, alert: Element, msg_type: str) -> list[str]:
    """The keys of the alerts an Update or Cancel names: space-separated ``sender,identifier,sent``."""
    text = _child(alert, "references")
    if msg_type in ("Update", "Cancel") and not text:
        reader.fail("alert.references", f"an {msg_type} must name the alert(s) it refers to as sender,identifier,sent")
    keys = []
    for reference in text.split():
        parts = reference.split(",")
        if len(parts) != 3 or not all(parts):
            reader.fail("alert.references", f"{reference[:80]!r} is not a sender,identifier,sent triplet")
        else:
            keys.append(dedup_key_of(reference))
    return keys


def _check_info(reader: PayloadReader, info: Element, where: str) -> None:
    """The elements CAP 1.2 requires in every <info>, with their allowed values."""
    categories = [(element.text or "").strip() for element in info.findall(_NS + "category")]
    if not categories:
        reader.fail(f"{where}.category", "is required")
    for index, category in enumerate(categories):
        if category not in CATEGORIES:
            reader.fail(f"{where}.category[{index}]", f"must be one of {', '.join(CATEGORIES)}, got {category[:40]!r}")
    _text(reader, info, "event", where, required=True)
    _text(reader, info, "urgency", where, required=True, choices=URGENCIES)
    _text(reader, info, "severity", where, required=True, choices=SEVERITIES)
    _text(reader, info, "certainty", where, required=True, choices=CERTAINTIES)
    for index, area in enumerate(info.findall(_NS + "area")):
        _text(reader, area, "areaDesc", f"{where}.area[{index}]", required=True)


def _language(info: Element) -> str:
    """The info's RFC 3066 language; CAP's default is en-US."""
    return _child(info, "language") or "en-US"


def _chosen_info(infos: list[Element]) -> int:
    """The info Muster reads: the first in Chinese, else the first in English, else the first."""
    for prefix in ("zh", "en"):
        for index, info in enumerate(infos):
            if _language(info).lower().startswith(prefix):
                return index
    return 0


def _info_fields(alert: Element, infos: list[Element], chosen: int) -> tuple[dict[str, object], dict[str, str]]:
    """Incident fields from the chosen info; the other infos add their headline to the description."""
    info = infos[chosen]
    where = f"alert.info[{chosen}]"
    language = "zh" if _language(info).lower().startswith("zh") else "en"
    parts = [_child(info, "description")]
    if instruction := _child(info, "instruction"):
        parts.append(_INSTRUCTION_LABEL[language] + instruction)
    if note := _child(alert, "note"):
        parts.append(_NOTE_LABEL[language] + note)
    others = [
        f"[{_language(other)}] {one_line(_child(other, 'headline') or _child(other, 'event'))}"
        for index, other in enumerate(infos)
        if index != chosen
    ]
    parts.append("\n".join(others))
    areas = info.findall(_NS + "area")
    values: dict[str, object] = {
        "description": clip("\n\n".join(part for part in parts if part), DESCRIPTION_MAX),
        "location": clip("; ".join(_child(area, "areaDesc") for area in areas), 500),
        "reporter": clip(_child(info, "senderName") or _child(alert, "sender"), 300),
        "language": language,
        "labels": _area_labels(areas),
    }
    paths = {name: f"{where}.{name}" for name in ("description", "language")}
    paths |= {"location": f"{where}.area", "reporter": f"{where}.senderName", "labels": f"{where}.area"}
    return values, paths


def _area_labels(areas: list[Element]) -> dict[str, str]:
    """polygon and circle (several joined by ``;``) and ``geocode.<valueName>`` (values joined by spaces)."""
    collected: dict[str, list[str]] = {}
    for area in areas:
        for shape in ("polygon", "circle"):
            for element in area.findall(_NS + shape):
                if element.text and element.text.strip():
                    collected.setdefault(shape, []).append(one_line(element.text))
        for name, value in _named_values(area, "geocode"):
            collected.setdefault(f"geocode.{name}", []).append(value)
    return {name: (";" if name in ("polygon", "circle") else " ").join(found) for name, found in collected.items()}


def _named_values(parent: Element, tag: str) -> list[tuple[str, str]]:
    """The (valueName, value) pairs of a CAP eventCode, parameter or geocode list."""
    return [
        (_child(element, "valueName"), _child(element, "value"))
        for element in parent.findall(_NS + tag)
        if _child(element, "valueName")
    ]


def _info_matches(info: Element) -> dict[str, str]:
    """What mapping rules can test about an info: event, category, urgency, severity, certainty, codes."""
    match = {
        name: _child(info, name)
        for name in ("event", "category", "urgency", "severity", "certainty", "responseType")
        if _child(info, name)
    }
    match["language"] = _language(info)
    for tag in ("eventCode", "parameter"):
        match |= {f"{tag}.{name}": value for name, value in _named_values(info, tag)}
    return match
