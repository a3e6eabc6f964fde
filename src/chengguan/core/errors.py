"""Errors a person can act on: a stable code, a message in Chinese and English, an HTTP status.

Services raise `ServiceError` (or a subclass); the API turns it into
`{"code": …, "message": …, "detail": …}` with the status, and pages show the message.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, detail: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail or {}
        if status is not None:
            self.status = status


class Invalid(ServiceError):
    """Bad input (422): names the field or problem."""

    status = 422


class Conflict(ServiceError):
    """The record changed or is in a state that does not allow this (409)."""

    status = 409
