"""Reads of notifications.

The inbox is the person's own rows of the "inbox" channel: `recipient = user` *is* the
jurisdiction rule of an inbox (nobody reads another person's inbox, whatever their role), so these
selectors filter on it directly instead of asking `core.permissions.visible()`. Everything else
(the admin, any list across people) goes through the chokepoint with the policy in policies.py.
"""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils import timezone

from .choices import ChannelName
from .models import Notification


def inbox_for(user) -> QuerySet[Notification]:
    """The person's inbox messages that are due (send_after reached), unread first, newest first.
    A message is in the inbox once the event's transaction committed; it does not wait for the
    worker."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(
        recipient=user, channel=ChannelName.INBOX, send_after__lte=timezone.now()
    ).order_by(F("read_at").asc(nulls_first=True), "-created_at", "-id")


def unread_count(user) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()
