"""Schemas every API router shares: the error body and the base of request bodies.

Every error the API answers is `{"code": …, "message": …, "detail": …}` (see chengguan/api.py);
`errors(…)` declares those statuses on an operation, so the OpenAPI schema names every status an
operation can answer, not only its 200.
"""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import Field, model_validator

# Every integer the API takes (an id, a limit, an offset, a version) is one the database can hold:
# a larger one is a 422 naming the field, not a query that fails on SQLite's driver (OverflowError)
# or in PostgreSQL (bigint out of range) and answers 500.
INT64_MAX = 2**63 - 1
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict = {}


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """`response={200: …, **errors(401, 403, 404, 422)}`: these statuses answer an ErrorOut, and
    so does 503 on every operation (the database is unavailable: `Retry-After`, see api.py)."""
    return dict.fromkeys((*statuses, 503), ErrorOut)


class ObjectIn(Schema):
    """A request body: a JSON object.

    Ninja's Schema reads any value by attribute, so a body of `""`, `[]` or `3` would otherwise
    pass as a body of all defaults (and, say, "mark as read" would answer 200 to a string). Here it
    is a 422 naming the problem."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values, handler, info):
        if not isinstance(values, dict):
            raise ValueError("请求体应为 JSON 对象 · the body must be a JSON object")
        return super()._run_root_validator(values, handler, info)
