"""The project's URLs plus `POST /bench/floor`: the framework floor for bench/intake.py.

The floor is the least a Django Ninja endpoint can do for a case report: parse and validate a JSON
body with a Pydantic schema, insert one row, answer 201 with a small JSON body. It runs through the
project's middleware (sessions, locale, CSRF-exempt API, the audit context) like the real endpoint,
but with no authentication, no locate, no idempotency, no event and no outbox. The table
`bench_floor` is created with raw SQL by bench/intake.py in its scratch database only.
"""

from django.db import connection
from django.urls import path
from ninja import NinjaAPI, Schema, Status

from chengguan.urls import urlpatterns as project_urlpatterns

floor_api = NinjaAPI(
    title="bench floor", version="bench", urls_namespace="bench_floor", auth=None, docs_url=None
)


class FloorIn(Schema):
    minor_class_id: int
    description: str
    lon: float
    lat: float


class FloorOut(Schema):
    id: int


@floor_api.post("/floor", response={201: FloorOut})
def floor(request, payload: FloorIn):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (minor_class_id, description, lon, lat, created_at) "
            "VALUES (%s, %s, %s, %s, now()) RETURNING id",
            [payload.minor_class_id, payload.description, payload.lon, payload.lat],
        )
        (row_id,) = cursor.fetchone()
    return Status(201, {"id": row_id})


urlpatterns = [*project_urlpatterns, path("bench/", floor_api.urls)]
