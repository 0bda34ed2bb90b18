"""The playbook loader reports every problem as path:line:col: message, on the right line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from muster.errors import ConfigError, PlaybookError, Problem
from playbooks import load_playbook, load_playbooks

VALID = """\
id: test-plan
title: {zh: 测试预案, en: Test plan}
incident_types: [test]
roles:
  commander:
    name: {zh: 现场指挥, en: Commander}
  county_office:
    name: 县级应急管理部门值班室
levels:
  - id: IV
    name: 四级响应
  - id: III
    name: 三级响应
    when: "deaths >= 1"
steps:
  - id: rescue
    kind: notify
    title: 抢救伤员
    to: [commander]
    ack: {within: 5m, escalate_to: commander}
    message: "{{ incident.location }}：请立即组织救援。"
  - id: report-county
    kind: report
    title: 报告县级部门
    needs: [rescue]
    to: [county_office]
    report_to: 县级应急管理部门
    deadline: {within: 1h, from: occurred_at}
    message: |
      {{ incident.title }}
      {{ deadline }}
"""


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``fragment``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) >= occurrence, f"{fragment!r} not in the test text"
    return hits[occurrence - 1]


def column_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based column where ``fragment`` starts on its line."""
    line = text.splitlines()[line_of(text, fragment, occurrence) - 1]
    return line.index(fragment) + 1


def edit(old: str, new: str, text: str = VALID) -> str:
    """The text with exactly one ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    """Write the text as a playbook file, load it, and return the problems it raises."""
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    problems = list(caught.value.problems)
    assert problems, "a PlaybookError must carry its problems"
    for problem in problems:
        assert problem.path == str(path)
        assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")
    return problems


def only_problem(tmp_path: Path, text: str) -> Problem:
    """The one problem a text has."""
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_the_valid_example_loads(tmp_path: Path) -> None:
    """The base text of these tests is a valid playbook."""
    path = tmp_path / "plan.yaml"
    path.write_text(VALID, encoding="utf-8")
    playbook = load_playbook(path)
    assert playbook.id == "test-plan"
    assert [s.id for s in playbook.steps] == ["rescue", "report-county"]


def test_text_argument_is_loaded_without_reading_the_path() -> None:
    """load_playbook(path, text=...) validates the given text and names the path in problems."""
    assert load_playbook("virtual.yaml", text=VALID).id == "test-plan"
    with pytest.raises(PlaybookError, match=r"^virtual\.yaml:1:1: "):
        load_playbook("virtual.yaml", text="")


def test_playbook_error_is_a_config_error_whose_text_lists_every_problem(tmp_path: Path) -> None:
    """PlaybookError is a ConfigError and its message is one path:line:col line per problem."""
    text = edit("  - id: rescue\n", "  - id: rescue\n    colour: red\n")
    text = edit("to: [county_office]", "to: [mayor]", text)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_playbook(path)
    assert isinstance(caught.value, PlaybookError)
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


def test_unknown_top_level_field_is_reported_at_its_key(tmp_path: Path) -> None:
    """A field the plan language does not know is reported at the key's line and column."""
    text = edit("incident_types: [test]\n", "incident_types: [test]\ncolour: red\n")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "colour:"), 1)
    assert "unknown field 'colour'" in problem.message


def test_unknown_step_field_is_reported_at_its_key(tmp_path: Path) -> None:
    """A misspelt step field (`need` for `needs`) is reported at its own line."""
    text = edit("    needs: [rescue]\n", "    need: [rescue]\n")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "need: [rescue]"), 5)
    assert "unknown field 'need'" in problem.message
    assert "steps.1" in problem.message


def test_unknown_field_in_ack_is_reported_at_its_key(tmp_path: Path) -> None:
    """A field unknown to `ack` is reported at the key inside the flow mapping."""
    text = edit("ack: {within: 5m, escalate_to: commander}", "ack: {within: 5m, retries: 3}")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "retries"), column_of(text, "retries"))
    assert "unknown field 'retries'" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "fragment", "words"),
    [
        ("id: test-plan\n", "id: test-plan\nversion: two\n", "version: two", "valid integer"),
        ("incident_types: [test]", "incident_types: test", "incident_types: test", "valid list"),
        ("ack: {within: 5m, escalate_to: commander}", "ack: {within: 5m, repeat: many}", "repeat: many",
         "valid integer"),
        ("    title: 抢救伤员\n", "    title: [抢救伤员]\n", "title: [抢救伤员]", "valid string"),
    ],
    ids=["version-not-int", "incident-types-not-list", "ack-repeat-not-int", "title-not-text"],
)
def test_wrong_type_is_reported_at_the_value(tmp_path: Path, old: str, new: str, fragment: str, words: str) -> None:
    """A value of the wrong type is reported on the value's line with what was expected."""
    text = edit(old, new)
    problems = problems_of(tmp_path, text)
    assert {p.line for p in problems} == {line_of(text, fragment)}
    assert any(words in p.message for p in problems)


def test_a_single_role_written_as_text_is_one_problem_not_one_per_letter(tmp_path: Path) -> None:
    """`to: commander` (text, not a list) is reported once, not as unknown roles 'c', 'o', 'm'..."""
    text = edit("to: [commander]", "to: commander")
    problems = problems_of(tmp_path, text)
    assert not any("unknown role" in p.message for p in problems), "\n".join(map(str, problems))
    assert len(problems) == 1


def test_a_single_need_written_as_text_is_one_problem_not_one_per_letter(tmp_path: Path) -> None:
    """`needs: rescue` (text, not a list) is reported once, not as unknown steps 'r', 'e', 's'..."""
    text = edit("needs: [rescue]", "needs: rescue")
    problems = problems_of(tmp_path, text)
    assert not any("unknown step" in p.message for p in problems), "\n".join(map(str, problems))
    assert len(problems) == 1


def test_unknown_role_is_reported_at_the_list_item(tmp_path: Path) -> None:
    """A role not in the plan's roles is reported at that item of `to`, naming the known roles."""
    text = edit("to: [county_office]", "to: [county_office, mayor]")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "mayor"), column_of(text, "mayor"))
    assert "unknown role 'mayor'" in problem.message
    assert "commander, county_office" in problem.message


def test_unknown_escalation_role_is_reported(tmp_path: Path) -> None:
    """`ack.escalate_to` must be a role of the plan or `chain`."""
    text = edit("escalate_to: commander", "escalate_to: mayor")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "escalate_to: mayor")
    assert "unknown role 'mayor' to escalate to" in problem.message
    load_playbook("plan.yaml", text=edit("escalate_to: commander", "escalate_to: chain"))


def test_unknown_step_in_needs_is_reported_at_the_item(tmp_path: Path) -> None:
    """A `needs` entry that names no step is reported at that entry."""
    text = edit("needs: [rescue]", "needs: [rescu]")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "rescu]"), column_of(text, "rescu]"))
    assert "needs unknown step 'rescu'" in problem.message


def test_step_that_needs_itself_is_reported(tmp_path: Path) -> None:
    """A step listing itself in `needs` is reported, not looped on."""
    text = edit("needs: [rescue]", "needs: [report-county]")
    problems = problems_of(tmp_path, text)
    assert any("needs itself" in p.message and p.line == line_of(text, "needs: [report-county]") for p in problems)


def test_cycle_in_needs_is_reported_with_the_cycle(tmp_path: Path) -> None:
    """Steps that need each other are reported as a cycle, with the path spelled out."""
    text = edit("    to: [commander]\n", "    needs: [report-county]\n    to: [commander]\n")
    problem = only_problem(tmp_path, text)
    assert "cycle" in problem.message
    assert "rescue -> report-county -> rescue" in problem.message
    assert problem.line in (line_of(text, "needs: [report-county]"), line_of(text, "needs: [rescue]"))


def test_longer_cycle_is_reported(tmp_path: Path) -> None:
    """A cycle through three steps is found, not only direct back-links."""
    text = VALID + (
        "  - id: a\n    kind: wait\n    title: a\n    duration: 1m\n    needs: [c]\n"
        "  - id: b\n    kind: wait\n    title: b\n    duration: 1m\n    needs: [a]\n"
        "  - id: c\n    kind: wait\n    title: c\n    duration: 1m\n    needs: [b]\n"
    )
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    assert "cycle" in problems[0].message
    assert all(name in problems[0].message for name in ("a", "b", "c"))


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ incident.titel }}", "incident.titel does not exist"),
        ("{{ victim }}", "'victim' does not exist"),
        ("{{ recipient.phone }}", "recipient.phone does not exist"),
        ("{{ level.rank }}", "level.rank does not exist"),
        ("{{ incident['titel'] }}", "incident.titel does not exist"),
    ],
)
def test_unknown_template_variable_is_reported_at_the_message(tmp_path: Path, template: str, words: str) -> None:
    """A message that uses a name or attribute the run does not provide is reported at the message."""
    text = edit('message: "{{ incident.location }}：请立即组织救援。"', f'message: "{template}"')
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, template)
    assert words in problem.message


def test_template_problem_in_one_language_is_reported_at_that_language(tmp_path: Path) -> None:
    """In a per-language message, the problem points at the language whose template is wrong."""
    text = edit(
        'message: "{{ incident.location }}：请立即组织救援。"',
        'message:\n      zh: "{{ incident.location }}"\n      en: "{{ incident.titel }}"',
    )
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "en: \"{{ incident.titel }}\"")
    assert "incident.titel" in problem.message


def test_template_problem_in_a_block_message_is_reported_at_the_message(tmp_path: Path) -> None:
    """A wrong name inside a `|` block message is reported at that message."""
    text = edit("      {{ deadline }}\n", "      {{ incident.titel }}\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "message: |")
    assert "incident.titel" in problem.message


def test_template_syntax_error_is_reported(tmp_path: Path) -> None:
    """An unclosed Jinja expression is reported at the message with the template's own line."""
    text = edit('message: "{{ incident.location }}：请立即组织救援。"', 'message: "{{ incident.location"')
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "{{ incident.location\"")
    assert "template syntax error" in problem.message


def test_unknown_template_filter_is_reported(tmp_path: Path) -> None:
    """A filter that does not exist is caught when the plan loads, not when the message is sent."""
    text = edit('message: "{{ incident.location }}：请立即组织救援。"', 'message: "{{ incident.location | shout }}"')
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "shout")
    assert "shout" in problem.message


def test_http_body_templates_are_checked(tmp_path: Path) -> None:
    """The values of an http step's body are templates and are checked like messages."""
    text = VALID + (
        "  - id: siren\n    kind: http\n    title: 鸣笛\n    needs: [rescue]\n    target: public-broadcast\n"
        "    body:\n      area: \"{{ incident.place }}\"\n"
    )
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "incident.place")
    assert "incident.place does not exist" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("within: 1h", "within: 1 hour", "1 hour"),
        ("within: 1h", "within: 60", "60,"),
        ("within: 1h", "within: 1m1h", "1m1h"),
        ("ack: {within: 5m,", "ack: {within: 0s,", "0s"),
    ],
    ids=["words", "bare-number", "units-out-of-order", "zero"],
)
def test_bad_duration_is_reported_at_the_value(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    """A duration that is not like 30s, 5m, 1h, 1h30m or 2d is reported where it is written."""
    text = edit(old, new)
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, fragment), column_of(text, fragment))
    assert "bad duration" in problem.message


def test_deadline_shorthand_accepts_a_duration() -> None:
    """`deadline: 1h` is short for `deadline: {within: 1h}`."""
    playbook = load_playbook("plan.yaml", text=edit("deadline: {within: 1h, from: occurred_at}", "deadline: 1h"))
    step = playbook.step("report-county")
    assert step.deadline.within.total_seconds() == 3600  # type: ignore[union-attr]


def test_duplicate_step_id_is_reported_at_the_second(tmp_path: Path) -> None:
    """Two steps with one id are reported at the later one, naming the earlier."""
    text = edit("  - id: report-county\n", "  - id: rescue\n")
    text = text.replace("needs: [rescue]", "needs: []")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "- id: rescue", 2), 9)
    assert "duplicate step id 'rescue'" in problem.message
    assert "step 1" in problem.message


def test_duplicate_yaml_key_is_reported_at_the_second(tmp_path: Path) -> None:
    """YAML would silently keep the last of two equal keys; the loader reports it."""
    text = edit("    title: 抢救伤员\n", "    title: 抢救伤员\n    title: 救人\n")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.column) == (line_of(text, "title: 救人"), 5)
    assert "duplicate key 'title'" in problem.message


def test_duplicate_level_id_is_reported(tmp_path: Path) -> None:
    """Two levels with one id are reported at the later one."""
    text = edit("  - id: III\n", "  - id: IV\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "- id: IV", 2)
    assert "duplicate level id 'IV'" in problem.message


def test_unknown_step_kind_is_reported_at_the_kind(tmp_path: Path) -> None:
    """A kind that is not notify, task, report, wait or http is reported on the `kind` line."""
    text = edit("kind: notify", "kind: email")
    problem = only_problem(tmp_path, text)
    assert "unknown kind 'email'" in problem.message
    assert "notify, task, report, wait, http" in problem.message
    assert problem.line == line_of(text, "kind: email")


def test_missing_step_kind_is_reported(tmp_path: Path) -> None:
    """A step without a kind is reported at the step."""
    text = edit("    kind: notify\n", "")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "- id: rescue")
    assert "kind" in problem.message


def test_missing_required_field_is_reported_at_its_parent(tmp_path: Path) -> None:
    """A report step without `report_to` is reported at that step, naming the field."""
    text = edit("    report_to: 县级应急管理部门\n", "")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "- id: report-county")
    assert "missing field 'report_to'" in problem.message


UNCLOSED = edit("    title: 抢救伤员\n", "    title: [抢救伤员\n")
BAD_INDENT = edit("incident_types: [test]\n", "incident_types: [test]\n  bad indent: 1\n")
TAB = "id: a\n\tname: tab\n"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        # PyYAML notices the unclosed flow sequence on the next line, where the `:` cannot be.
        (UNCLOSED, line_of(UNCLOSED, "to: [commander]"), 7),
        (BAD_INDENT, line_of(BAD_INDENT, "bad indent"), 3),
        (TAB, 2, 1),
    ],
    ids=["unclosed-bracket", "bad-indent", "tab"],
)
def test_yaml_syntax_error_is_reported_with_its_position(tmp_path: Path, text: str, line: int, column: int) -> None:
    """A YAML syntax error is one problem at the position where the parser stopped."""
    problem = only_problem(tmp_path, text)
    assert problem.message.startswith("YAML syntax:")
    assert (problem.line, problem.column) == (line, column)


def test_empty_file_is_reported(tmp_path: Path) -> None:
    """An empty file is a problem at 1:1, not a crash."""
    problem = only_problem(tmp_path, "# nothing here\n")
    assert (problem.line, problem.column, problem.message) == (1, 1, "the file is empty")


def test_a_list_instead_of_a_playbook_is_reported(tmp_path: Path) -> None:
    """A file whose top level is not a mapping is one problem at 1:1."""
    problem = only_problem(tmp_path, "- id: a\n")
    assert (problem.line, problem.column) == (1, 1)


def test_unknown_grade_in_a_condition_is_reported_at_the_condition(tmp_path: Path) -> None:
    """`grade >= '巨大'` is refused when the plan loads, listing the valid grades."""
    text = edit('when: "deaths >= 1"', "when: \"grade >= '巨大'\"")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "巨大")
    assert "unknown grade '巨大'" in problem.message
    assert "较大" in problem.message


def test_unknown_grade_in_a_list_condition_is_reported(tmp_path: Path) -> None:
    """A wrong grade name inside `grade in [...]` is refused too."""
    text = edit('when: "deaths >= 1"', "when: \"grade in ['较大', 'major']\"")
    problem = only_problem(tmp_path, text)
    assert "unknown grade 'major'" in problem.message


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("__import__('os').system('id')", "Call is not allowed"),
        ("().__class__", "Attribute is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
        ("deaths.__class__", "Attribute is not allowed"),
        ("labels['x'] == 'y'", "Subscript is not allowed"),
        ("[x for x in [1]]", "ListComp is not allowed"),
        ("(lambda: 1)()", "not allowed"),
        ("deaths * 1000000 > 1", "BinOp is not allowed"),
        ("deaths ** 99 > 1", "BinOp is not allowed"),
        ("open", "unknown name 'open'"),
        ("eval('1')", "Call is not allowed"),
        ("deaths if true else missing", "IfExp is not allowed"),
        ("(x := 1)", "NamedExpr is not allowed"),
        ("b'x' == type", "not allowed"),
        ("deaths >=", "not valid"),
    ],
)
def test_condition_that_is_not_the_safe_language_is_rejected(tmp_path: Path, condition: str, words: str) -> None:
    """Calls, attributes, subscripts, comprehensions and unknown names in `when` are refused at load."""
    text = edit('when: "deaths >= 1"', f"when: {json.dumps(condition, ensure_ascii=False)}")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "when:")
    assert words in problem.message


def test_unknown_level_in_min_level_is_reported(tmp_path: Path) -> None:
    """A `min_level` that names no level is reported at it."""
    text = edit("    needs: [rescue]\n", "    needs: [rescue]\n    min_level: II\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "min_level: II")
    assert "unknown level 'II'" in problem.message


def test_lowest_level_must_not_have_a_condition(tmp_path: Path) -> None:
    """The lowest level applies by default, so a `when` on it is reported."""
    text = edit("    name: 四级响应\n", "    name: 四级响应\n    when: \"deaths >= 0\"\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "deaths >= 0")
    assert "lowest level" in problem.message


def test_higher_level_needs_a_condition(tmp_path: Path) -> None:
    """A level above the lowest without `when` is reported at that level."""
    text = edit('    when: "deaths >= 1"\n', "")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "- id: III")
    assert "needs a `when`" in problem.message


def test_unknown_time_zone_is_reported(tmp_path: Path) -> None:
    """A time zone that is not an IANA name is reported at its value."""
    text = edit("incident_types: [test]\n", "incident_types: [test]\ntimezone: Beijing/Time\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "timezone:")
    assert "unknown time zone 'Beijing/Time'" in problem.message


def test_several_problems_in_one_file_are_all_reported_in_line_order(tmp_path: Path) -> None:
    """Every problem of a file comes back in one error, sorted by line, each on its own line."""
    text = edit("incident_types: [test]\n", "incident_types: [test]\ncolour: red\n")
    text = edit('when: "deaths >= 1"', "when: \"grade >= '巨大'\"", text)
    text = edit("ack: {within: 5m,", "ack: {within: 5 minutes,", text)
    text = edit('message: "{{ incident.location }}：请立即组织救援。"', 'message: "{{ incident.titel }}"', text)
    text = edit("needs: [rescue]", "needs: [rescu]", text)
    text = edit("to: [county_office]", "to: [mayor]", text)
    problems = problems_of(tmp_path, text)
    expected = [
        (line_of(text, "colour"), "unknown field 'colour'"),
        (line_of(text, "巨大"), "unknown grade"),
        (line_of(text, "5 minutes"), "bad duration"),
        (line_of(text, "incident.titel"), "incident.titel does not exist"),
        (line_of(text, "rescu]"), "needs unknown step 'rescu'"),
        (line_of(text, "mayor"), "unknown role 'mayor'"),
    ]
    assert [(p.line, words) for p, (_, words) in zip(problems, expected, strict=True)] == [
        (line, words) for line, words in expected
    ]
    for problem, (_, words) in zip(problems, expected, strict=True):
        assert words in problem.message
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_load_playbooks_reports_the_problems_of_every_file(tmp_path: Path) -> None:
    """Loading a folder reports the problems of all bad files at once, each with its own path."""
    (tmp_path / "a.yaml").write_text(edit("to: [county_office]", "to: [mayor]"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(edit("id: test-plan", "id: other-plan").replace("1h", "1 hour"), encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    paths = {p.path for p in caught.value.problems}
    assert paths == {str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")}


def test_two_files_with_one_playbook_id_are_reported(tmp_path: Path) -> None:
    """Playbook ids are unique across the files loaded together."""
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID, encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    (problem,) = caught.value.problems
    assert problem.path == str(tmp_path / "b.yaml")
    assert "already used" in problem.message


@pytest.mark.parametrize(
    "tagged",
    [
        "title: !!python/object/apply:os.system ['echo hacked']",
        "title: !!python/object/apply:os.system {args: ['echo hacked']}",
        "title: !!python/object/apply:os.system 'echo hacked'",
        "title: !!python/name:os.system ''",
        "title: !!python/object/new:subprocess.Popen [['touch', 'hacked']]",
        "title: !custom thing",
    ],
    ids=["apply-seq", "apply-map", "apply-scalar", "name", "new", "local-tag"],
)
def test_yaml_object_tags_are_refused_as_a_located_problem(tmp_path: Path, tagged: str) -> None:
    """A tag that would build a Python object is refused as a path:line:col problem, and nothing runs."""
    marker = tmp_path / "hacked"
    text = edit("title: {zh: 测试预案, en: Test plan}", tagged.replace("hacked", str(marker)))
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert not marker.exists()
    assert any(p.line == line_of(text, "title: !") for p in caught.value.problems), str(caught.value)
    assert any("tag" in p.message for p in caught.value.problems), str(caught.value)
