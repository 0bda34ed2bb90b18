"""Accident grading by State Council Decree No. 493 (2007), art. 3.

Any one criterion reaches a grade, and each bound is inclusive ("以上" includes
the number itself): 3 deaths is already 较大.
"""

from __future__ import annotations

from incidents.model import Grade

__all__ = ["GRADE_THRESHOLDS", "grade_incident"]

# (grade, deaths ≥, serious injuries ≥, direct loss in yuan ≥), highest first.
GRADE_THRESHOLDS: tuple[tuple[Grade, int, int, int], ...] = (
    (Grade.EXTRAORDINARILY_SERIOUS, 30, 100, 100_000_000),
    (Grade.SERIOUS, 10, 50, 50_000_000),
    (Grade.RELATIVELY_SERIOUS, 3, 10, 10_000_000),
)


def grade_incident(*, deaths: int, serious_injuries: int, direct_loss_cny: int) -> Grade:
    """The Decree 493 grade that the first criterion to reach it decides."""
    if min(deaths, serious_injuries, direct_loss_cny) < 0:
        raise ValueError("deaths, serious injuries and direct loss cannot be negative")
    for grade, min_deaths, min_serious, min_loss in GRADE_THRESHOLDS:
        if deaths >= min_deaths or serious_injuries >= min_serious or direct_loss_cny >= min_loss:
            return grade
    return Grade.ORDINARY
