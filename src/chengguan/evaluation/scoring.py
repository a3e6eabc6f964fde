"""Composite scores, grades and ranks from the configuration records in force for a period.

A period is scored with the scheme (and grade scale) whose effective date is the latest on or
before the period's first day. A component score is 0–100: a rate ×100, (1 − rate) ×100 for a
rate where less is better (漏报率, 返工率), or the band a count reaches. The composite is the
weighted mean of the components that have a value: a rate with nothing to count (denominator 0)
is left out and the remaining weights are rescaled, so an object with no work in a stage is
neither rewarded nor punished for it. No component with a value: no score, no grade, no rank.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from .choices import Transform
from .models import GradeScale, ScoreScheme

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def scheme_for(object_type: str, day: dt.date) -> ScoreScheme | None:
    return (
        ScoreScheme.objects.filter(object_type=object_type, effective_from__lte=day)
        .prefetch_related("weights", "bands")
        .order_by("-effective_from")
        .first()
    )


def scale_for(day: dt.date) -> GradeScale | None:
    return (
        GradeScale.objects.filter(effective_from__lte=day)
        .prefetch_related("cutoffs")
        .order_by("-effective_from")
        .first()
    )


def component(transform: str, figure, bands) -> Decimal | None:
    if transform == Transform.BANDS:
        reached = [b.score for b in bands if figure.numerator >= b.lower]
        return max(reached) if reached else Decimal(0)
    if figure.value is None:
        return None
    value = Decimal(figure.value)
    return value * HUNDRED if transform == Transform.RATE else (1 - value) * HUNDRED


def composite(figures: dict, scheme: ScoreScheme | None) -> Decimal | None:
    if scheme is None:
        return None
    bands: dict[str, list] = {}
    for band in scheme.bands.all():
        bands.setdefault(band.indicator, []).append(band)
    total = weights = Decimal(0)
    for weight in scheme.weights.all():
        figure = figures.get(weight.indicator)
        if figure is None:
            continue
        score = component(weight.transform, figure, bands.get(weight.indicator, []))
        if score is None:
            continue
        total += weight.weight * score
        weights += weight.weight
    if not weights:
        return None
    return (total / weights).quantize(CENT, rounding=ROUND_HALF_UP)


def grade_of(score: Decimal | None, scale: GradeScale | None) -> str:
    if score is None or scale is None:
        return ""
    reached = [c for c in scale.cutoffs.all() if score >= c.min_score]
    return max(reached, key=lambda c: c.min_score).grade if reached else ""


def assign_ranks(rows: list, key=lambda r: r.score) -> None:
    """Competition ranking (1, 2, 2, 4) by score, highest first; rows without a score get None."""
    scored = sorted((r for r in rows if key(r) is not None), key=key, reverse=True)
    previous, rank = None, 0
    for i, row in enumerate(scored, start=1):
        if key(row) != previous:
            rank, previous = i, key(row)
        row.rank = rank
    for row in rows:
        if key(row) is None:
            row.rank = None
