"""The notify app's tasks (django-tasks). The worker runs them; `chengguan worker` also enqueues
`deliver_notifications` every NOTIFY_SWEEP_SECONDS (see apps.py), which delivers retries that fell
due and any row whose enqueue was lost (a process killed between commit and enqueue, a worker
killed mid-task: django-tasks does not rerun a task whose worker died)."""

from __future__ import annotations

from django_tasks import task

from .services import deliver_all_pending


@task()
def deliver_notifications() -> dict[str, int]:
    """Deliver every notification that is due; returns counts {sent, retried, gave_up}."""
    return deliver_all_pending().as_dict()
