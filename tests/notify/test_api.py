"""The inbox API, as its owner, as someone else, and as nobody."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import Resolver404, resolve

from chengguan.notify.models import Notification
from chengguan.notify.services import notify

pytestmark = pytest.mark.django_db

URL = "/api/v1/notify/inbox"


@pytest.fixture(autouse=True)
def mounted(settings):
    try:
        resolve(URL)
    except Resolver404:  # the project API does not mount the router (yet): mount it for the test
        settings.ROOT_URLCONF = "tests.notify.urls"


def inbox_rows(person, n):
    with transaction.atomic():
        return [
            notify(
                person, kind="case_dispatched", title=f"案件 {i}", link=f"/cases/{i}/", channels=["inbox"]
            )[0]
            for i in range(n)
        ]


def test_my_inbox_unread_first_with_counts(client_for, alice, bob):
    mine = inbox_rows(alice, 3)
    inbox_rows(bob, 2)
    Notification.objects.filter(pk=mine[2].pk).update(read_at=mine[2].created_at)  # the newest is read
    body = client_for(alice).get(URL).json()
    assert (body["count"], body["unread"]) == (3, 2)
    assert [x["id"] for x in body["items"]] == [mine[1].pk, mine[0].pk, mine[2].pk]
    first = body["items"][0]
    assert first["title"] == "案件 1" and first["link"] == "/cases/1/" and first["read"] is False
    assert first["kind"] == "case_dispatched" and first["read_at"] is None


def test_pagination_and_unread_only(client_for, alice):
    rows = inbox_rows(alice, 5)
    client = client_for(alice)
    page = client.get(URL, {"limit": 2, "offset": 2}).json()
    assert [x["id"] for x in page["items"]] == [rows[2].pk, rows[1].pk]
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 2)
    client.post(f"{URL}/read", {"ids": [rows[4].pk]}, content_type="application/json")
    unread = client.get(URL, {"unread_only": True}).json()
    assert unread["count"] == 4 and all(not x["read"] for x in unread["items"])
    assert client.get(URL, {"limit": 1000}).status_code == 422


def test_mark_read_only_touches_my_messages(client_for, alice, bob):
    mine = inbox_rows(alice, 2)
    (theirs,) = inbox_rows(bob, 1)
    response = client_for(alice).post(
        f"{URL}/read", {"ids": [mine[0].pk, theirs.pk, 999999]}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 1, "unread": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None  # someone else's message: ignored, not even an error
    assert client_for(alice).post(f"{URL}/read", {"all": True}, content_type="application/json").json() == {
        "updated": 1,
        "unread": 0,
    }
    assert client_for(bob).get(URL).json()["unread"] == 1


def test_other_channels_and_future_messages_are_not_in_the_inbox(client_for, alice, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.NOTIFY_CHANNELS = ["inbox", "log"]
    with transaction.atomic():
        notify(alice, kind="a", title="现在")
        notify(alice, kind="a", title="明天", send_after=timezone.now() + timedelta(days=1))
    body = client_for(alice).get(URL).json()
    assert [x["title"] for x in body["items"]] == ["现在"] and body["unread"] == 1


def test_anonymous_gets_401(client):
    assert client.get(URL).status_code == 401
    assert client.post(f"{URL}/read", {"ids": [1]}, content_type="application/json").status_code == 401
