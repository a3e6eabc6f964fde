"""The API describes itself: OpenAPI schema and docs at the documented addresses."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_and_docs(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 302 and r["Location"] == "/api/v1/openapi.json"
    schema = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/cases/",
        "/api/v1/cases/{case_id}/{action}",
        "/api/v1/grid/locate",
        "/api/v1/cases/ledger.xlsx",
        "/api/v1/notify/inbox",
    ):
        assert path in schema["paths"], path
    assert "BearerAuth" in str(schema["components"]["securitySchemes"])
    assert client.get("/api/docs", follow=True).status_code == 200
