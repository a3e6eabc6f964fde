"""A GeoReport v2 client that knows only the spec: form-encoded POSTs, `.xml` parsed with
xml.etree by the Spark convention, `.json` with json. Shared by the Open311 tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded"
# Containers whose children repeat (the spec's ⇊ lists): arrays in JSON.
CONTAINERS = {"services", "service_requests", "errors", "endpoints", "formats", "attributes", "values"}
FORMATS = ("json", "xml")


def spark(element: ET.Element):
    """XML → the JSON structure of the Spark convention (every scalar a string, empty → None)."""
    children = list(element)
    if element.tag in CONTAINERS:
        return [spark(c) for c in children]
    if children:
        return {c.tag: spark(c) for c in children}
    return element.text


def parse(response, fmt: str):
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return spark(ET.fromstring(body))


def root_tag(response) -> str:
    return ET.fromstring(response.content).tag


def as_text(value):
    """A JSON value as the XML text that carries it (to compare the two formats)."""
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


def get(client, path: str, fmt: str = "json", **params):
    query = f"?{urlencode(params)}" if params else ""
    return client.get(f"{BASE}/{path}.{fmt}{query}")


def post_request(client, fmt: str = "json", **data):
    return client.post(f"{BASE}/requests.{fmt}", urlencode(data), content_type=FORM)


def error_list(response, fmt: str, status: int) -> list[dict]:
    """The spec's error body: a list of {code, description}, the HTTP status as given."""
    assert response.status_code == status, response.content.decode()
    if fmt == "xml":
        assert root_tag(response) == "errors"
    errors = parse(response, fmt)
    assert isinstance(errors, list) and errors
    for error in errors:
        assert set(error) == {"code", "description"}
        assert str(error["code"]) == str(status) and error["description"]
    return errors
