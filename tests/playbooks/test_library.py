"""The shipped plans: people first, Decree 493 reporting, their own response levels, and messages that render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from incidents import Grade
from playbooks import (
    HttpStep,
    Playbook,
    ReportStep,
    StepKind,
    library_paths,
    load_playbooks,
    localize,
    plan_steps,
    render_template,
    response_level,
)

LIBRARY = load_playbooks(library_paths())
IDS = sorted(LIBRARY)
NEW_PLANS = ["crowded-venue-fire", "hazchem-leak", "mine-accident"]
INCIDENT_TYPE = {
    "gas-explosion": "gas_explosion",
    "hazchem-leak": "hazchem_leak",
    "crowded-venue-fire": "mall_fire",
    "mine-accident": "mine_gas_explosion",
}
SIX_ITEMS_ZH = ["一、", "二、", "三、", "四、", "五、", "六、"]
SIX_ITEMS_EN = ["1. ", "2. ", "3. ", "4. ", "5. ", "6. "]
REPORT_FACTS = [
    "incident.unit", "incident.unit_profile", "incident.occurred_at", "incident.location", "incident.scene",
    "incident.description", "incident.deaths", "incident.missing", "incident.serious_injuries",
    "incident.direct_loss_cny", "incident.measures_taken", "incident.other",
]


def playbook_params(ids: list[str] = IDS) -> list[Any]:
    """One pytest param per playbook, named by its id."""
    return [pytest.param(LIBRARY[i], id=i) for i in ids]


def county_report(playbook: Playbook) -> ReportStep:
    """The plan's report with the 1-hour deadline."""
    reports = [s for s in playbook.steps if isinstance(s, ReportStep) and s.deadline.within == timedelta(hours=1)]
    assert len(reports) == 1, f"{playbook.id} needs exactly one 1-hour report"
    return reports[0]


def ancestors(playbook: Playbook, step_id: str) -> set[str]:
    """Every step a step needs, directly or through others."""
    seen: set[str] = set()
    todo = list(playbook.step(step_id).needs)
    while todo:
        need = todo.pop()
        if need not in seen:
            seen.add(need)
            todo.extend(playbook.step(need).needs)
    return seen


def test_the_library_holds_the_four_plans() -> None:
    """Gas explosion, hazardous chemicals, crowded-venue fire and mine accident ship with Muster."""
    assert IDS == ["crowded-venue-fire", "gas-explosion", "hazchem-leak", "mine-accident"]
    assert [p.name for p in library_paths()] == [f"{i}.yaml" for i in IDS]


def test_incident_types_belong_to_one_plan_each() -> None:
    """An incident type starts exactly one plan, so matching is never ambiguous."""
    types = [t for playbook in LIBRARY.values() for t in playbook.incident_types]
    assert len(types) == len(set(types))
    for playbook_id, incident_type in INCIDENT_TYPE.items():
        assert incident_type in LIBRARY[playbook_id].incident_types


@pytest.mark.parametrize("playbook", playbook_params())
def test_plan_cites_decree_493_and_708_and_gbt_29639(playbook: Playbook) -> None:
    """Each plan names the rules it follows."""
    basis = " ".join(playbook.basis)
    assert "493" in basis
    assert "708" in basis
    assert "GB/T 29639" in basis


@pytest.mark.parametrize("playbook", playbook_params())
def test_plan_is_bilingual_throughout(playbook: Playbook) -> None:
    """Titles, role names, level names, step titles and messages exist in Chinese and English."""
    texts: list[Any] = [playbook.title]
    texts += [role.name for role in playbook.roles.values()]
    texts += [level.name for level in playbook.levels]
    texts += [step.title for step in playbook.steps]
    texts += [step.message for step in playbook.steps if hasattr(step, "message")]
    texts += [step.report_to for step in playbook.steps if isinstance(step, ReportStep)]
    for text in texts:
        assert isinstance(text, dict), text
        assert set(text) == {"zh", "en"}, text
        assert all(value.strip() for value in text.values()), text
    assert set(playbook.languages) == {"zh", "en"}


@pytest.mark.parametrize("playbook", playbook_params())
def test_rescue_is_the_first_step_and_nothing_blocks_it(playbook: Playbook) -> None:
    """The first step rescues and treats the injured: it needs nothing and has no level or condition gate."""
    rescue = playbook.steps[0]
    assert rescue.id == "rescue"
    assert rescue.needs == []
    assert rescue.when is None
    assert rescue.min_level is None
    assert "medical_team" in rescue.to  # type: ignore[union-attr]
    assert "伤" in localize(rescue.title, "zh")


@pytest.mark.parametrize("playbook", playbook_params())
def test_rescue_waits_for_acks_and_escalates(playbook: Playbook) -> None:
    """The rescue step needs every recipient to acknowledge within minutes, and escalates otherwise."""
    ack = playbook.steps[0].ack  # type: ignore[union-attr]
    assert ack is not None
    assert ack.within <= timedelta(minutes=5)
    assert ack.need == "all"
    assert ack.repeat >= 1
    assert ack.escalate_to in playbook.roles


@pytest.mark.parametrize("playbook", playbook_params())
def test_every_other_step_comes_after_rescue(playbook: Playbook) -> None:
    """Every step other than rescue needs it, directly or through other steps (people first)."""
    for step in playbook.steps[1:]:
        assert "rescue" in ancestors(playbook, step.id), step.id


@pytest.mark.parametrize("playbook", playbook_params())
def test_county_report_is_due_within_1_hour_of_the_accident(playbook: Playbook) -> None:
    """Decree 493 art. 9: the unit reports to the county department within 1 hour, warned 15 minutes before."""
    report = county_report(playbook)
    assert report.deadline.from_ == "occurred_at"
    assert report.deadline.warn_before == timedelta(minutes=15)
    assert report.min_level is None
    assert report.when is None
    assert "county_office" in report.to
    assert "县级" in localize(report.report_to, "zh")


@pytest.mark.parametrize("playbook", playbook_params())
def test_county_report_first_needs_chain_reaches_rescue(playbook: Playbook) -> None:
    """Following the first `needs` of the 1-hour report leads back to the rescue step."""
    step = county_report(playbook)
    while step.needs:
        step = playbook.step(step.needs[0])  # type: ignore[assignment]
    assert step.id == "rescue"


@pytest.mark.parametrize("playbook", playbook_params())
def test_county_report_carries_the_six_items_of_art_12(playbook: Playbook) -> None:
    """The report message has the six items of Decree 493 art. 12, in both languages, from the incident's facts."""
    message = county_report(playbook).message
    assert isinstance(message, dict)
    for marks, language in ((SIX_ITEMS_ZH, "zh"), (SIX_ITEMS_EN, "en")):
        text = message[language]
        positions = [text.index(mark) for mark in marks]
        assert positions == sorted(positions), language
        for fact in REPORT_FACTS:
            assert fact in text, (language, fact)
        assert "{{ grade }}" in text
        assert "{{ deadline }}" in text


@pytest.mark.parametrize("playbook", playbook_params())
def test_report_deadlines_add_2_hours_per_level_up(playbook: Playbook) -> None:
    """Each report further up is due 2 hours after the one it follows: 1h, 3h, 5h, 7h from the accident."""
    reports = [s for s in playbook.steps if isinstance(s, ReportStep)]
    for report in reports:
        hours = report.deadline.within / timedelta(hours=1)
        assert hours in (1, 3, 5, 7), report.id
        if hours > 1:
            assert report.min_level is not None, report.id
            previous = [playbook.step(n) for n in report.needs if isinstance(playbook.step(n), ReportStep)]
            assert [p.deadline.within for p in previous] == [  # type: ignore[union-attr]
                report.deadline.within - timedelta(hours=2)
            ], report.id


@pytest.mark.parametrize("playbook", playbook_params())
def test_city_report_is_due_within_3_hours_at_higher_levels(playbook: Playbook) -> None:
    """The report to the prefecture-level city runs only above the lowest level and is due 3 hours after."""
    (city,) = [s for s in playbook.steps if isinstance(s, ReportStep) and s.deadline.within == timedelta(hours=3)]
    assert city.to == ["city_office"]
    assert playbook.level_rank(city.min_level) > 0  # type: ignore[arg-type]


@pytest.mark.parametrize("playbook", playbook_params())
def test_relatively_serious_accidents_go_up_to_the_province_and_serious_ones_further(playbook: Playbook) -> None:
    """Decree 493 art. 10: 较大 goes up to the province (5h), 重大 and above to the State Council department (7h)."""
    province = playbook.step("report-province")
    national = playbook.step("report-national")
    assert isinstance(province, ReportStep)
    assert isinstance(national, ReportStep)
    assert province.deadline.within == timedelta(hours=5)
    assert national.deadline.within == timedelta(hours=7)
    assert province.when == "grade >= '较大'"
    assert national.when == "grade >= '重大'"


@pytest.mark.parametrize("playbook", playbook_params())
def test_levels_start_with_the_lowest_without_a_condition(playbook: Playbook) -> None:
    """The lowest level applies by default; every higher level has its own rule."""
    assert playbook.levels[0].when is None
    assert all(level.when for level in playbook.levels[1:])
    assert len(playbook.levels) >= 3


@pytest.mark.parametrize("playbook", playbook_params())
def test_response_level_is_lowest_for_a_small_incident(playbook: Playbook, make_incident: Any) -> None:
    """An incident with no casualties and little loss gets the lowest level."""
    incident = make_incident(type=INCIDENT_TYPE[playbook.id], direct_loss_cny=20_000)
    assert response_level(playbook, incident.facts()) == playbook.levels[0]


@pytest.mark.parametrize("playbook", playbook_params())
def test_response_level_rises_at_3_deaths_and_again_at_10(playbook: Playbook, make_incident: Any) -> None:
    """Three deaths raise the response above the lowest; ten deaths raise it higher still."""
    def rank(deaths: int) -> int:
        incident = make_incident(type=INCIDENT_TYPE[playbook.id], deaths=deaths)
        return playbook.level_rank(response_level(playbook, incident.facts()).id)

    assert 0 < rank(3) < rank(10)
    assert rank(10) == len(playbook.levels) - 1


@pytest.mark.parametrize("playbook", playbook_params())
def test_levels_use_facts_beyond_the_grade(playbook: Playbook, make_incident: Any) -> None:
    """GB/T 29639: levels do not copy grades, so a missing person raises the level of an ordinary accident."""
    incident = make_incident(type=INCIDENT_TYPE[playbook.id], missing=1)
    assert incident.grade is Grade.ORDINARY
    assert playbook.level_rank(response_level(playbook, incident.facts()).id) > 0


@pytest.mark.parametrize("playbook", playbook_params())
def test_plan_steps_skips_higher_level_steps_at_the_lowest_level_with_a_reason(
    playbook: Playbook, make_incident: Any
) -> None:
    """At the lowest level every min_level step is skipped, saying which level it needs; rescue and report run."""
    facts = make_incident(type=INCIDENT_TYPE[playbook.id]).facts()
    level = response_level(playbook, facts)
    planned = {p.step.id: p.skip_reason for p in plan_steps(playbook, facts, level, "en")}
    assert planned["rescue"] is None
    assert planned[county_report(playbook).id] is None
    gated = [s for s in playbook.steps if s.min_level is not None]
    assert gated
    for step in gated:
        reason = planned[step.id]
        assert reason is not None
        assert "below" in reason
        assert localize(playbook.levels[playbook.level_rank(step.min_level)].name, "en") in reason  # type: ignore[arg-type]


@pytest.mark.parametrize("playbook", playbook_params())
def test_plan_steps_runs_every_report_for_an_extraordinarily_serious_accident(
    playbook: Playbook, make_incident: Any
) -> None:
    """At 30 deaths every report step runs, up to the highest authority the plan names."""
    facts = make_incident(type=INCIDENT_TYPE[playbook.id], deaths=30).facts()
    level = response_level(playbook, facts)
    for planned in plan_steps(playbook, facts, level, "zh"):
        if isinstance(planned.step, ReportStep):
            assert planned.skip_reason is None, planned.step.id


def test_mine_trapped_miners_step_runs_only_when_someone_is_missing(make_incident: Any) -> None:
    """The trapped-miners step is skipped with the false condition when nobody is missing."""
    mine = LIBRARY["mine-accident"]
    for missing, expected in ((0, "condition is false: missing >= 1"), (2, None)):
        facts = make_incident(type="mine_flooding", missing=missing).facts()
        planned = {p.step.id: p.skip_reason for p in plan_steps(mine, facts, response_level(mine, facts))}
        assert planned["trapped-miners"] == expected


def test_mine_trapped_miners_in_an_explosion_raise_the_level_to_outside_support(make_incident: Any) -> None:
    """One miner trapped by an explosion or flood calls in outside rescue teams; after a roof fall it does not."""
    mine = LIBRARY["mine-accident"]
    flood = make_incident(type="mine_flooding", missing=1).facts()
    roof = make_incident(type="mine_roof_fall", missing=1).facts()
    assert response_level(mine, flood).id == "II"
    assert response_level(mine, roof).id == "III"


def test_hazchem_fire_starts_at_a_site_wide_response(make_incident: Any) -> None:
    """A fire of hazardous chemicals is never handled at plant level alone."""
    hazchem = LIBRARY["hazchem-leak"]
    assert response_level(hazchem, make_incident(type="hazchem_leak").facts()).id == "IV"
    assert response_level(hazchem, make_incident(type="hazchem_fire").facts()).id == "III"


def test_hazchem_broadcasts_at_high_levels(make_incident: Any) -> None:
    """The public-broadcast call goes out from level II and after the downwind evacuation order."""
    hazchem = LIBRARY["hazchem-leak"]
    broadcast = hazchem.step("broadcast-warning")
    assert isinstance(broadcast, HttpStep)
    assert broadcast.target == "public-broadcast"
    assert broadcast.min_level == "II"
    assert broadcast.needs == ["evacuate-downwind"]


def _render_cases() -> list[Any]:
    cases = []
    for playbook_id in IDS:
        playbook = LIBRARY[playbook_id]
        for step in playbook.steps:
            roles = list(getattr(step, "to", None) or ["rescue_team"])
            for role in roles:
                for language in ("zh", "en"):
                    cases.append(pytest.param(playbook, step.id, role, language,
                                              id=f"{playbook_id}-{step.id}-{role}-{language}"))
    return cases


@pytest.mark.parametrize("deaths", [0, 12])
@pytest.mark.parametrize(("playbook", "step_id", "role", "language"), _render_cases())
def test_every_library_template_renders(
    playbook: Playbook, step_id: str, role: str, language: str, deaths: int, make_incident: Any,
    render_context: Any,
) -> None:
    """Every message and http body of every plan renders for every recipient role, in both languages."""
    step = playbook.step(step_id)
    incident = make_incident(type=playbook.incident_types[0], deaths=deaths, missing=2, serious_injuries=1)
    level = response_level(playbook, incident.facts())
    context = render_context(playbook, step, incident, level, role=role, language=language)
    if isinstance(step, HttpStep):
        texts = [render_template(body, context) for body in step.body.values()]
    else:
        texts = [render_template(localize(step.message, language), context)]  # type: ignore[union-attr]
    for text in texts:
        assert text
        assert "{{" not in text and "{%" not in text
        assert "None" not in text
        assert "  " not in text.replace("\n", " ") or step.kind is StepKind.REPORT
        assert len(text) <= 1000, f"{len(text)} characters is too long to read on a phone"
    if step.kind is not StepKind.HTTP and (playbook.id, step_id) != ("gas-explosion", "aftermath"):
        assert incident.location in texts[0], "a message on a phone must say which incident it is about"
