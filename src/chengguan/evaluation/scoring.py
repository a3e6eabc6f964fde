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
from collections.abc import Callable
from dataclasses import dataclass, field
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


def component(transform: str, figure, bands: tuple[tuple[int, Decimal], ...]) -> Decimal | None:
    """One indicator's 0–100 score; `bands` are (lower bound, score) pairs."""
    if transform == Transform.BANDS:
        reached = [score for lower, score in bands if figure.numerator >= lower]
        return max(reached) if reached else Decimal(0)
    if figure.value is None:
        return None
    value = Decimal(figure.value)
    return value * HUNDRED if transform == Transform.RATE else (1 - value) * HUNDRED


class Scorer:
    """A scheme and a grade scale, read once to score many objects (every grid of a city)."""

    def __init__(self, scheme: ScoreScheme | None, scale: GradeScale | None):
        self.scheme, self.scale = scheme, scale
        bands: dict[str, list[tuple[int, Decimal]]] = {}
        parts = []
        if scheme is not None:
            for band in scheme.bands.all():
                bands.setdefault(band.indicator, []).append((band.lower, band.score))
            parts = [
                (w.indicator, w.weight, w.transform, tuple(bands.get(w.indicator, ())))
                for w in scheme.weights.all()
            ]
        self.parts = parts
        self._memo: dict[tuple, Decimal | None] = {}
        self._components: dict[tuple, Decimal | None] = {}
        # highest cut-off first: the first one a score reaches is its grade
        self.cutoffs = (
            sorted(((c.min_score, c.grade) for c in scale.cutoffs.all()), reverse=True) if scale else []
        )

    def composite(self, figures: dict) -> Decimal | None:
        """The weighted mean of the components; remembered by the figures it reads, so objects
        with the same figures (grids with few or no cases in a period) are scored once."""
        if self.scheme is None:
            return None
        key = tuple(
            None if (f := figures.get(indicator)) is None else (f.numerator, f.denominator)
            for indicator, _w, _t, _b in self.parts
        )
        if key not in self._memo:
            self._memo[key] = self._composite(figures)
        return self._memo[key]

    def _composite(self, figures: dict) -> Decimal | None:
        total = weights = Decimal(0)
        for indicator, weight, transform, bands in self.parts:
            figure = figures.get(indicator)
            if figure is None:
                continue
            # one indicator's figures repeat across objects far more than whole sets of them do
            key = (indicator, figure.numerator, figure.denominator)
            if key in self._components:
                score = self._components[key]
            else:
                score = self._components[key] = component(transform, figure, bands)
            if score is None:
                continue
            total += weight * score
            weights += weight
        if not weights:
            return None
        return (total / weights).quantize(CENT, rounding=ROUND_HALF_UP)

    def grade(self, score: Decimal | None) -> str:
        if score is None:
            return ""
        return next((grade for min_score, grade in self.cutoffs if score >= min_score), "")


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


# --- extension point: components other apps add to the composite -------------------------------------
#
# An app whose own results count in an object's composite score (the grid assessment, 网格化检查考核)
# registers a source: `source(object_type, first_day, last_day, object_ids)` returns an
# `ExtraComponent` (its weight taken from the app's own configuration in force on the first day)
# or None when it has nothing for that object type. `selectors.score()` asks every source once
# per object type and period and blends each object's case composite with the components.


@dataclass(frozen=True)
class ExtraComponent:
    code: str
    share: Decimal  # the part of the composite it takes, 0–1 (0.20 = 20 %)
    scores: dict  # object id → 0–100; an object without one is scored without this component
    config: dict = field(default_factory=dict)  # what configuration was used (kept with snapshots)


_EXTRA_SOURCES: list[Callable] = []


def register_extra_component(source: Callable) -> None:
    if source not in _EXTRA_SOURCES:
        _EXTRA_SOURCES.append(source)


def extra_components(object_type: str, first_day: dt.date, last_day: dt.date, ids) -> list[ExtraComponent]:
    """`ids`: the objects, as a list or as an id query (`selectors.object_ids`)."""
    found = (source(object_type, first_day, last_day, ids) for source in _EXTRA_SOURCES)
    return [c for c in found if c is not None and c.share > 0]


def with_extras(score: Decimal | None, object_id: int, extras: list[ExtraComponent]) -> Decimal | None:
    """The composite with the extra components: Σ share·component + (1 − Σ shares)·case composite,
    over the parts that have a value (weights rescaled, as for a rate with nothing to count)."""
    parts = [(c.share, Decimal(c.scores[object_id])) for c in extras if c.scores.get(object_id) is not None]
    if not parts:
        return score
    if score is not None:
        parts.append((max(Decimal(0), 1 - sum(s for s, _v in parts)), score))
    weights = sum(s for s, _v in parts)
    if not weights:
        return score
    return (sum(s * v for s, v in parts) / weights).quantize(CENT, rounding=ROUND_HALF_UP)


def extras_config(extras: list[ExtraComponent]) -> dict:
    return {c.code: {"share": str(c.share), **c.config} for c in extras}
