"""Who is told what when a case moves. Written to the notification outbox inside the
transition's transaction, so a rolled-back transition tells nobody."""

from __future__ import annotations


def case_event(case, event) -> None:
    """Queue the notifications for one case event (wired to chengguan.notify)."""
    return None
