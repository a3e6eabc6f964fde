"""The inbox of the person who is logged in (mounted at /api/v1/notify/)."""

from ninja import Query, Router

from chengguan.core.schemas import INT64_MAX, errors

from . import selectors, services
from .schemas import InboxOut, MarkReadIn, MarkReadOut

router = Router(tags=["notify"])


@router.get("/inbox", response={200: InboxOut, **errors(401, 422)})
def inbox(
    request,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    unread_only: bool = False,
):
    """My messages, unread first then newest first, with the count of unread ones."""
    qs = selectors.inbox_for(request.user)
    unread = qs.filter(read_at__isnull=True).count()
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
        count = unread
    else:
        count = qs.count()
    items = list(qs[offset : offset + limit])
    return {"count": count, "unread": unread, "limit": limit, "offset": offset, "items": items}


@router.post("/inbox/read", response={200: MarkReadOut, **errors(400, 401, 403, 413, 422)})
def mark_read(request, payload: MarkReadIn):
    """Mark messages read. Ids that are not in my inbox are ignored (never an error that would tell
    whether someone else's message exists)."""
    if payload.all:
        updated = services.mark_all_read(request.user)
    else:
        updated = services.mark_read(request.user, payload.ids)
    return {"updated": updated, "unread": selectors.unread_count(request.user)}
