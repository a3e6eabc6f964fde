"""The pages' URL map: one module per area under `views/`, each with its own `urlpatterns` and,
optionally, `NAV` (the links it adds to the navigation bar).

To add an area: write `views/<area>.py` with `urlpatterns` (and `NAV`), then add the module to
`AREAS` below. Names are in the "web" namespace: `reverse("web:case_detail", args=[id])`.
"""

from .views import (
    assessment,
    auth,
    cases,
    command,
    department,
    desk,
    evaluation,
    grids,
    home,
    inspector,
    ledger,
    maps,
    public,
)

app_name = "web"

AREAS = [
    auth,
    home,
    cases,
    maps,
    inspector,
    public,
    desk,
    department,
    command,
    ledger,
    grids,
    evaluation,
    assessment,
]

urlpatterns = [pattern for area in AREAS for pattern in area.urlpatterns]
