"""`when` conditions: a small, safe expression language over incident facts.

Allowed: comparisons (``== != < <= > >=``, ``in``, ``not in``), ``and``, ``or``,
``not``, ``+`` and ``-`` on numbers, parentheses, literals (numbers, quoted
strings, ``true``/``false``, lists) and the names in :data:`FACT_NAMES`.
``grade`` compares by severity against a grade name (``grade >= '较大'``).
The text is parsed with :mod:`ast` and walked by this module; nothing is ever
handed to ``eval``, so a playbook cannot run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from incidents import Grade, Incident
from muster.errors import ConditionError

__all__ = ["FACT_NAMES", "Condition", "parse_condition"]

FACT_NAMES: frozenset[str] = frozenset(Incident.model_fields) | {"grade", "casualties"}
_LITERAL_NAMES = {"true": True, "false": False, "True": True, "False": False, "null": None, "None": None}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {ast.Add: operator.add, ast.Sub: operator.sub}


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition, ready to evaluate against an incident's facts."""

    text: str
    tree: ast.expr

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether the condition holds for these facts."""
        try:
            return bool(_evaluate(self.tree, facts))
        except (TypeError, ValueError, KeyError) as exc:
            raise ConditionError(f"condition {self.text!r} cannot be evaluated: {exc}") from exc


def parse_condition(text: str) -> Condition:
    """Parse and check a condition; raise ConditionError saying what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"condition {text!r} is not valid: {exc.msg}") from None
    _check(tree, text)
    return Condition(text, tree)


def _check(node: ast.AST, text: str) -> None:
    match node:
        case ast.BoolOp(values=values):
            for value in values:
                _check(value, text)
        case ast.UnaryOp(op=ast.Not() | ast.USub(), operand=operand):
            _check(operand, text)
        case ast.BinOp(op=op, left=left, right=right) if type(op) in _ARITH:
            _check(left, text)
            _check(right, text)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            for part in (left, *comparators):
                _check(part, text)
            _check_grade_literals([left, *comparators], text)
            if any(type(op) not in _COMPARE for op in ops):
                raise ConditionError(f"condition {text!r}: only == != < <= > >= in and 'not in' compare")
        case ast.Name(id=name):
            if name not in FACT_NAMES and name not in _LITERAL_NAMES:
                known = ", ".join(sorted(FACT_NAMES))
                raise ConditionError(f"condition {text!r}: unknown name {name!r}; known names: {known}")
        case ast.Constant(value=value):
            if not isinstance(value, str | int | float | bool) and value is not None:
                raise ConditionError(f"condition {text!r}: literal {value!r} is not allowed")
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            for element in elts:
                _check(element, text)
        case _:
            what = type(node).__name__
            raise ConditionError(f"condition {text!r}: {what} is not allowed; use comparisons, and/or/not, in, + and -")


def _check_grade_literals(parts: list[ast.expr], text: str) -> None:
    if not any(isinstance(p, ast.Name) and p.id == "grade" for p in parts):
        return
    for part in parts:
        literals = part.elts if isinstance(part, ast.List | ast.Tuple) else [part]
        for literal in literals:
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                try:
                    Grade.parse(literal.value)
                except ValueError as exc:
                    raise ConditionError(f"condition {text!r}: {exc}") from None


def _evaluate(node: ast.expr, facts: Mapping[str, Any]) -> Any:
    match node:
        case ast.BoolOp(op=ast.And(), values=values):
            return all(_evaluate(v, facts) for v in values)
        case ast.BoolOp(values=values):
            return any(_evaluate(v, facts) for v in values)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _evaluate(operand, facts)
        case ast.UnaryOp(operand=operand):
            return -_evaluate(operand, facts)
        case ast.BinOp(op=arith, left=left, right=right):
            return _ARITH[type(arith)](_evaluate(left, facts), _evaluate(right, facts))
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            current = _evaluate(left, facts)
            for op, comparator in zip(ops, comparators, strict=True):
                other = _evaluate(comparator, facts)
                if isinstance(other, list) and isinstance(current, Grade):
                    other = [Grade.parse(o) if isinstance(o, str) else o for o in other]
                elif isinstance(current, Grade) and isinstance(other, str):
                    other = Grade.parse(other)
                elif isinstance(other, Grade) and isinstance(current, str):
                    current = Grade.parse(current)
                if not _COMPARE[type(op)](current, other):
                    return False
                current = other
            return True
        case ast.Name(id=name):
            return _LITERAL_NAMES[name] if name in _LITERAL_NAMES else facts[name]
        case ast.Constant(value=value):
            return value
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return [_evaluate(e, facts) for e in elts]
    raise ConditionError(f"cannot evaluate {ast.dump(node)}")
