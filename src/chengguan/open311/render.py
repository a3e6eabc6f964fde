"""GeoReport v2 bodies: one Python structure, written as XML or as JSON (the spec's "Spark convention").

A list is an XML container whose children are all named after the container (`services` →
`service`, `service_requests` → `request` …) and a JSON array; a dict is an element with child
elements and a JSON object; None is an empty element and JSON null; booleans are `true`/`false`.
XML is UTF-8 with the declaration and no namespace, as the spec asks.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# The element name of the items of each list (GeoReport v2 and Service Discovery).
ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean_text(str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        item = ITEM[element.tag]
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def to_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def respond(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    body = to_json(data) if fmt == "json" else to_xml(root, data)
    return HttpResponse(body, status=status, content_type=FORMATS.get(fmt, FORMATS["xml"]))


def errors(fmt: str, status: int, *descriptions: str, headers: dict | None = None) -> HttpResponse:
    """The spec's error list: HTTP status, body `[{code, description}, …]` / `<errors><error>…`."""
    body = [{"code": status, "description": d} for d in descriptions]
    response = respond(fmt if fmt in FORMATS else "xml", "errors", body, status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
