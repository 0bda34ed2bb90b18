"""A realistic gas-explosion incident and run, and ways to look inside a rendered PDF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pypdfium2
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from incidents import EntryKind, Incident, NewEntry, Outcome

GENERATED_AT = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def gas_explosion(**changes: Any) -> Incident:
    """A 较大 gas explosion as a duty office would report it."""
    facts: dict[str, Any] = {
        "id": "INC-20261129-0215-7f3a9c",
        "type": "gas_explosion",
        "title": "某燃气公司调压站燃气爆炸事故",
        "location": "某市某区某路88号燃气调压站",
        "occurred_at": datetime(2026, 11, 29, 2, 15, tzinfo=UTC),
        "reported_at": datetime(2026, 11, 29, 2, 20, tzinfo=UTC),
        "unit": "某市燃气有限公司",
        "unit_profile": "国有企业，从业人员 1,200 人，持有燃气经营许可证。",
        "scene": "调压站东侧围墙倒塌，现场有明火，周边 200 米已设警戒。",
        "deaths": 3,
        "missing": 1,
        "serious_injuries": 5,
        "injuries": 12,
        "direct_loss_cny": 12_000_000,
        "description": "11月29日10时15分，调压站发生燃气泄漏并引发爆炸。",
        "measures_taken": "已切断上游气源，消防和 120 已到场。",
        "other": "事故原因正在调查。",
        "reporter": "王建国",
        "reporter_phone": "138-0000-0000",
    }
    facts.update(changes)
    return Incident(**facts)


def gas_explosion_run(incident: Incident) -> list[NewEntry]:
    """The entries a `gas-explosion` run writes: rescue first, then reporting with deadlines."""
    person = {"p-zhang": ("张伟", "现场指挥"), "p-li": ("李娜", "医疗救护组")}

    def message(kind: EntryKind, who: str, channel: str, outcome: Outcome, **detail: Any) -> NewEntry:
        name, role = person[who]
        return NewEntry(
            kind,
            step="rescue",
            recipient=who,
            channel=channel,
            outcome=outcome,
            detail={"recipient_name": name, "role": role, **detail},
        )

    return [
        NewEntry(EntryKind.INCIDENT_REPORTED, detail={"incident": incident.model_dump(mode="json"), "source": "cli"}),
        NewEntry(EntryKind.INCIDENT_GRADED, detail={"grade": incident.grade.value}),
        NewEntry(
            EntryKind.RUN_STARTED,
            detail={
                "run_id": "run-7d1f",
                "playbook": "gas-explosion",
                "playbook_title": "燃气爆炸事故专项应急预案",
                "version": "3",
                "drill": incident.drill,
            },
        ),
        NewEntry(EntryKind.LEVEL_SET, detail={"level": "II", "name": "二级响应"}),
        NewEntry(EntryKind.STEP_STARTED, step="rescue", detail={"title": "组织抢救和救治伤员", "kind": "notify"}),
        message(
            EntryKind.MESSAGE_ATTEMPTED,
            "p-zhang",
            "wecom",
            Outcome.RATE_LIMITED,
            attempt=1,
            status=429,
            latency_ms=80,
            reason="rate limited",
        ),
        message(
            EntryKind.MESSAGE_ATTEMPTED, "p-zhang", "wecom", Outcome.DELIVERED, attempt=2, status=200, latency_ms=95
        ),
        message(EntryKind.MESSAGE_DELIVERED, "p-zhang", "wecom", Outcome.DELIVERED, attempts=2),
        message(EntryKind.MESSAGE_FAILED, "p-li", "sms", Outcome.FAILED, attempts=3, reason="号码无效 (400)"),
        message(EntryKind.MESSAGE_DELIVERED, "p-li", "dingtalk", Outcome.DELIVERED, attempts=1),
        NewEntry(
            EntryKind.MESSAGE_UNREACHABLE,
            step="rescue",
            outcome=Outcome.FAILED,
            detail={"role": "抢险救援组", "reason": "花名册中无人值班"},
        ),
        NewEntry(EntryKind.ACK_RECEIVED, step="rescue", recipient="p-zhang", channel="wecom"),
        NewEntry(EntryKind.STEP_FINISHED, step="rescue", outcome=Outcome.OK, detail={"delivered": 2, "failed": 0}),
        NewEntry(
            EntryKind.STEP_SKIPPED,
            step="evacuate-school",
            outcome=Outcome.SKIPPED,
            detail={"reason": "条件不满足：附近无学校"},
        ),
        NewEntry(
            EntryKind.STEP_STARTED,
            step="report-county",
            detail={"title": "1小时内报告县级应急管理部门", "kind": "report"},
        ),
        NewEntry(
            EntryKind.DEADLINE_MET,
            step="report-county",
            outcome=Outcome.MET,
            detail={
                "deadline": "2026-11-29T03:15:00Z",
                "at": "2026-11-29T02:48:00Z",
                "report_to": "县应急管理局值班室",
            },
        ),
        NewEntry(EntryKind.STEP_FINISHED, step="report-county", outcome=Outcome.OK),
        NewEntry(
            EntryKind.STEP_STARTED, step="report-city", detail={"title": "2小时内报告市应急管理局", "kind": "report"}
        ),
        NewEntry(
            EntryKind.DEADLINE_MISSED,
            step="report-city",
            outcome=Outcome.MISSED,
            detail={
                "deadline": "2026-11-29T05:15:00Z",
                "at": "2026-11-29T05:40:00Z",
                "report_to": "市应急管理局值班室",
            },
        ),
        NewEntry(
            EntryKind.STEP_FAILED,
            step="report-city",
            outcome=Outcome.FAILED,
            detail={"error": "HTTP 503 from the city gateway"},
        ),
        NewEntry(EntryKind.RUN_FINISHED, detail={"status": "completed", "sent": 4, "delivered": 3, "failed": 1}),
    ]


def pdf_objects(reader: PdfReader) -> Iterator[DictionaryObject]:
    """Every dictionary (streams included) reachable from the PDF's trailer, each once."""
    seen: set[tuple[int, int]] = set()
    pending: list[PdfObject | None] = [reader.trailer]
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            yield item
            pending.extend(item.values())
        elif isinstance(item, ArrayObject):
            pending.extend(item)


def pdfium_text(path: Path) -> str:
    """The text of every page as pdfium (Chrome's PDF engine) reads it."""
    document = pypdfium2.PdfDocument(path)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(texts)
    finally:
        document.close()


def squeeze(text: str) -> str:
    """``text`` without any whitespace, so a cell that wrapped still matches."""
    return "".join(text.split())
