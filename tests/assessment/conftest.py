"""Grid assessment fixtures: the reference checklist and weights, a team of two assessors in
street A (plus one outside the team), a rectification office (整治办) for each street, and a plan
over the communities of street A running today."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.utils import timezone
from PIL import Image

from chengguan.assessment import services
from chengguan.assessment.models import AssessmentPlan, AssessmentTeam, Checklist, ChecklistItem
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel, Role
from chengguan.org.models import Region
from tests.conftest import make_person


def jpeg(size=(64, 48), colour=(120, 160, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


@dataclass
class Setup:
    checklist: Checklist
    team: AssessmentTeam
    plan: AssessmentPlan
    grids: list  # grids of street A, in code order
    people: dict

    def item(self, code: str) -> ChecklistItem:
        return self.checklist.items.get(code=code)


def make_plan(actor, team, checklist, regions, first=None, last=None, grids=()):
    today = timezone.localdate()
    return services.plan_create(
        actor,
        name="三月网格考核",
        team_id=team.pk,
        checklist_id=checklist.pk,
        first_day=first or today - dt.timedelta(days=1),
        last_day=last or today + dt.timedelta(days=1),
        region_ids=[r.pk for r in regions],
        grid_ids=[g.pk for g in grids],
    )


@pytest.fixture
def assess(city, people, settings, tmp_path) -> Setup:
    return build_setup(city, people, settings, tmp_path)


def build_setup(city, people, settings, tmp_path) -> Setup:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    services.load_config()
    checklist = Checklist.objects.get(code="GRID-REF")
    crew = {
        "assessor_1": make_person("assessor_1", [Role.ASSESSOR], regions=[city.street_a]),
        "assessor_2": make_person("assessor_2", [Role.ASSESSOR], regions=[city.street_a]),
        "assessor_x": make_person("assessor_x", [Role.ASSESSOR], regions=[city.street_a]),
        "office_a": make_person("office_a", [Role.RECTIFICATION], regions=[city.street_a]),
        "office_b": make_person("office_b", [Role.RECTIFICATION], regions=[city.street_b]),
    }
    team = AssessmentTeam.objects.create(name="第一考核组", region=city.street_a, leader=crew["assessor_1"])
    team.members.set([crew["assessor_1"], crew["assessor_2"]])
    communities = Region.objects.filter(level=RegionLevel.COMMUNITY, parent=city.street_a)
    plan = make_plan(crew["office_a"], team, checklist, communities)
    grids = list(UnitGrid.objects.filter(street=city.street_a).order_by("code"))
    return Setup(checklist, team, plan, grids, {**people, **crew})
