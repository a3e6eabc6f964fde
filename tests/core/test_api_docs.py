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


def test_the_schema_is_built_once_per_language(client, monkeypatch):
    """Building the schema takes the better part of a second: it is built once per process and
    language, and every later request gets the same document."""
    import ninja.main

    from chengguan.api import api

    api.__dict__.pop("_schemas", None)  # start from nothing, whatever earlier tests built
    built = []
    real = ninja.main.get_schema
    monkeypatch.setattr(ninja.main, "get_schema", lambda **kw: built.append(kw) or real(**kw))
    first = client.get("/api/v1/openapi.json").json()
    again = client.get("/api/v1/openapi.json").json()
    assert first == again and len(built) == 1
    english = client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"}).json()
    assert english["paths"].keys() == first["paths"].keys() and len(built) == 2
