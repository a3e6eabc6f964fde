"""Database helpers of the notify app."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def write_transaction():
    """transaction.atomic() that, on SQLite, opens with BEGIN IMMEDIATE whatever the settings say.

    A claim ("read the row, and if it is still due, send it and mark it") must hold the write lock
    before it reads. SQLite has no row locks; with a DEFERRED transaction two workers could both
    read a row as unsent, both send it, and only then find that one of them cannot write. The
    project's settings already open every transaction IMMEDIATE; this keeps the guarantee if a
    deployment changes that. On PostgreSQL it is plain atomic() (claims use FOR UPDATE SKIP LOCKED).
    """
    connection = transaction.get_connection()
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    connection.ensure_connection()  # connecting resets transaction_mode from OPTIONS: connect first
    previous = connection.transaction_mode
    connection.transaction_mode = previous if previous in ("IMMEDIATE", "EXCLUSIVE") else "IMMEDIATE"
    try:
        with transaction.atomic():
            yield
    finally:
        connection.transaction_mode = previous
