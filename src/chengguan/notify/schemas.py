from datetime import datetime

from ninja import Field, Schema

from chengguan.core.schemas import Int64, ObjectIn


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    subject_type: str
    subject_id: int | None
    created_at: datetime
    read_at: datetime | None
    read: bool

    @staticmethod
    def resolve_read(obj) -> bool:
        return obj.read_at is not None


class InboxOut(Schema):
    count: int  # messages in the inbox (read and unread)
    unread: int
    limit: int
    offset: int
    items: list[NotificationOut]


class MarkReadIn(ObjectIn):
    ids: list[Int64] = Field(default_factory=list, max_length=500)
    all: bool = False  # mark every inbox message read (ids ignored)


class MarkReadOut(Schema):
    updated: int
    unread: int
