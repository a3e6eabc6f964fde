"""The scorer reads its configuration once and remembers what it computed (a ranking of every grid
scores thousands of objects): remembering must never give one object another's score."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from chengguan.evaluation import scoring
from chengguan.evaluation.models import ScoreBand, ScoreScheme, ScoreWeight
from chengguan.evaluation.selectors import Figure

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme():
    """Two rates (one where more is better, one where less is), both with weight 40, and a count
    scored by bands with weight 20."""
    scheme = ScoreScheme.objects.create(object_type="grid", effective_from=dt.date(2030, 1, 1), name="测试")
    ScoreWeight.objects.create(scheme=scheme, indicator="close_rate", weight=40, transform="rate")
    ScoreWeight.objects.create(scheme=scheme, indicator="rework_rate", weight=40, transform="inverse_rate")
    ScoreWeight.objects.create(scheme=scheme, indicator="registered", weight=20, transform="bands")
    ScoreBand.objects.create(scheme=scheme, indicator="registered", lower=5, score=60)
    ScoreBand.objects.create(scheme=scheme, indicator="registered", lower=10, score=100)
    return scoring.scheme_for("grid", dt.date(2030, 1, 1))


def figures(close, rework, registered):
    return {"close_rate": Figure(*close), "rework_rate": Figure(*rework), "registered": Figure(registered)}


OBJECTS = [
    # the same numerators over other denominators, the same (numerator, denominator) in the rate
    # where more is better and in the one where less is, counts either side of a band's bound
    figures((3, 4), (1, 4), 5),
    figures((3, 5), (1, 5), 5),
    figures((1, 4), (3, 4), 4),
    figures((3, 4), (3, 4), 10),
    figures((0, 0), (1, 4), 9),
    figures((3, 4), (1, 4), 5),
    figures((0, 0), (0, 0), 0),
]


def test_every_object_scores_as_it_would_alone(scheme):
    together = scoring.Scorer(scheme, None)
    scores = [together.composite(f) for f in OBJECTS]
    assert scores == [scoring.Scorer(scheme, None).composite(f) for f in OBJECTS]
    # by hand: 40·75 + 40·(100 − 25) + 20·60 = 7,200 over 100
    assert scores[0] == Decimal("72.00")
    assert scores[1] == Decimal("68.00")  # 40·60 + 40·80 + 20·60
    assert scores[2] == Decimal("20.00")  # 40·25 + 40·25 + 20·0
    assert scores[3] == Decimal("60.00")  # 40·75 + 40·25 + 20·100
    assert scores[4] == Decimal("70.00")  # no close rate: (40·75 + 20·60) / 60
    assert scores[5] == scores[0]
    assert scores[6] == Decimal("0.00")  # only the count, below every band
