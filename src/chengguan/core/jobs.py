"""The core's background jobs (django-tasks), run by `chengguan worker` on a schedule."""

from __future__ import annotations

from django_tasks import task

from . import audit


@task()
def seal_audit_log() -> dict[str, int]:
    """Seal the audit rows written since the last seal (every minute), then prune old ranges."""
    sealed = audit.seal()
    pruned = audit.prune()
    return {
        "sealed_upto": sealed.upto_id if sealed else 0,
        "sealed_rows": sealed.rows if sealed else 0,
        "pruned": pruned,
    }
