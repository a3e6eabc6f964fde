"""The organisation's background jobs (django-tasks), run by `chengguan worker` on a schedule."""

from __future__ import annotations

from django_tasks import task

from chengguan.core import context

from . import sessions


@task()
def clear_sessions() -> dict[str, int]:
    """Delete expired sessions and end those idle or past their lifetime (every 5 minutes)."""
    with context.acting(context.ActorContext(via="job:org.clear_sessions")):
        return sessions.clear_sessions()
