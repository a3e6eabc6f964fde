"""Grid pages through Django's test client: the list with open case counts, a grid's page with its
boundary, responsible people and open cases; another street's grid is not found."""

from __future__ import annotations

import json
import re

import pytest

from chengguan.cases.choices import CaseStatus
from chengguan.grid.models import GridResponsibility, UnitGrid
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def test_a_grid_page_shows_its_boundary_people_and_open_cases(city, client_for, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    grid = case.grid
    GridResponsibility.objects.create(grid=grid, person=people["inspector_a"], duty="inspector")
    client = client_for(people["shiftlead_a"])
    page = client.get(f"/grids/{grid.pk}/")
    assert page.status_code == 200 and grid.code in html(page)
    assert "inspector_a" in html(page) and case.number in html(page)
    feature = json.loads(re.search(r'id="grid-feature"[^>]*>(.*?)</script>', html(page), re.S).group(1))
    assert feature["geometry"] == grid.geometry
    listing = client.get("/grids/", {"q": grid.code})
    assert f'href="/grids/{grid.pk}/"' in html(listing)
    assert re.search(rf'href="/grids/{grid.pk}/".*?data-open="(\d+)"', html(listing), re.S).group(1) != "0"


def test_another_streets_grid_is_not_found(city, client_for, people):
    grid_a = UnitGrid.objects.filter(street=city.street_a).order_by("code").first()
    client = client_for(people["shiftlead_b"])
    assert client.get(f"/grids/{grid_a.pk}/").status_code == 404
    assert f'href="/grids/{grid_a.pk}/"' not in html(client.get("/grids/", {"q": grid_a.code}))
    assert client_for(people["outsider"]).get("/grids/").status_code == 404


def test_a_bad_grid_filter_is_shown_not_a_failure(city, client_for, people):
    page = client_for(people["shiftlead_a"]).get("/grids/", {"community_id": "abc", "page": "999"})
    assert page.status_code == 200 and 'class="field invalid"' in html(page)


def test_the_grid_list_queries_are_bounded(city, people, client_for, django_assert_max_num_queries):
    make_case(city, people, CaseStatus.HANDLING)
    client = client_for(people["leader"])
    with django_assert_max_num_queries(15):
        assert client.get("/grids/").status_code == 200
