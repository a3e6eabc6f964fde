"""Personal API tokens: issued once, stored as a digest, refused when revoked, expired or the person is
inactive; `Authorization: Bearer` on a Ninja API beside the session (no CSRF for bearer requests);
the `chengguan token` command; the admin.

The HTTP tests mount their own small NinjaAPIs (this module is the URLconf) with the project's
`API_AUTH` ([BearerAuth(), django_auth]) and, to show why that order, with the session first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.models.functions import Cast
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI, Router, Schema
from ninja.security import django_auth

from chengguan.core import permissions
from chengguan.core.models import AuditLog
from chengguan.core.permissions import visible
from chengguan.org.choices import DepartmentKind, Role
from chengguan.org.models import ApiToken, Department, Person, RoleGrant
from chengguan.org.tokens import (
    API_AUTH,
    LAST_USED_RESOLUTION,
    BearerAuth,
    TokenError,
    token_authenticate,
    token_create,
    token_revoke,
)

pytestmark = pytest.mark.django_db

PASSWORD = "Test#pass-2026"
# What the security administrator is to be granted in core/permissions.py (see test_admin_*).
TOKEN_GRANTS = {"org.view_apitoken", "org.change_apitoken"}


# --- a tiny API, mounted by this module as the URLconf ------------------------------------------


class NoteIn(Schema):
    name: str


def make_router() -> Router:
    router = Router()

    @router.get("/whoami")
    def whoami(request):
        return {"user": request.user.get_username(), "auth": request.auth.get_username()}

    @router.post("/notes")
    def add_note(request, payload: NoteIn):
        # An audited write, to see whom the audit log names for a bearer request.
        dept = Department.objects.create(
            code=f"TOK-{Department.objects.count() + 1}", name=payload.name, kind=DepartmentKind.OTHER
        )
        return {"user": request.user.get_username(), "department": dept.pk}

    return router


api = NinjaAPI(auth=API_AUTH, urls_namespace="test-tokens-api")
api.add_router("/", make_router())
session_first_api = NinjaAPI(auth=[django_auth, BearerAuth()], urls_namespace="test-tokens-session-first")
session_first_api.add_router("/", make_router())

urlpatterns = [
    path("t/", api.urls),
    path("session-first/", session_first_api.urls),
]


@pytest.fixture
def urls(settings):
    settings.ROOT_URLCONF = __name__


def make_person(username, roles=(), **extra) -> Person:
    person = Person.objects.create_user(username=username, password=PASSWORD, full_name=username, **extra)
    for role in roles:
        person.roles.add(RoleGrant.objects.get(role=role))
    return person


@pytest.fixture
def alice():
    return make_person("tok_alice", [Role.DISPATCHER])


@pytest.fixture
def bob():
    return make_person("tok_bob", [Role.HANDLER])


def bearer(plaintext: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def strict_client() -> Client:
    """A client that checks CSRF as a browser request would be checked (Django's test client skips it)."""
    return Client(enforce_csrf_checks=True)


# --- issuing, storing, authenticating --------------------------------------------------------------


def test_create_returns_the_token_once_and_stores_only_its_digest(alice):
    token, plaintext = token_create(alice, "巡查 App", days=30)
    assert plaintext.startswith("cg_") and len(plaintext) == 3 + 43
    assert token.prefix == plaintext[:8]
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.person == alice and token.name == "巡查 App"
    assert token.revoked_at is None and token.last_used_at is None
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    assert not hasattr(token, "token") and plaintext not in str(token)
    assert token_authenticate(plaintext) == alice
    # Two tokens never share a prefix or a digest.
    other, other_plain = token_create(alice)
    assert other.prefix != token.prefix and other_plain != plaintext and other.expires_at is None


def test_the_token_is_not_stored_in_plain_text_anywhere(alice):
    token, plaintext = token_create(alice, "导出脚本")
    token_authenticate(plaintext)
    token_revoke(token)
    secret = plaintext[len(token.prefix) :]  # the part never shown after creation
    holders = []
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.proxy or model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, (models.CharField, models.TextField, models.JSONField)):
                continue
            as_text = Cast(field.name, models.TextField())
            rows = model._default_manager.annotate(_text=as_text).filter(_text__contains=secret)
            if rows.exists():
                holders.append(f"{model._meta.label}.{field.name}")
    assert holders == []
    # The audit log records the issue and the revocation, with the prefix and the digest only.
    logs = AuditLog.objects.filter(model="org.ApiToken", object_id=str(token.pk)).order_by("id")
    assert [x.action for x in logs] == ["create", "update"]
    assert logs[0].changes["after"]["prefix"] == token.prefix
    assert plaintext not in json.dumps(list(logs.values_list("changes", flat=True)), ensure_ascii=False)


def test_a_revoked_token_is_refused_and_revoking_twice_keeps_the_first_time(alice):
    token, plaintext = token_create(alice)
    token_revoke(token)
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert first is not None
    assert token_authenticate(plaintext) is None
    token_revoke(ApiToken.objects.get(pk=token.pk))
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first


def test_an_expired_token_is_refused(alice):
    token, plaintext = token_create(alice, days=1)
    assert token_authenticate(plaintext) == alice
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert token_authenticate(plaintext) is None


def test_an_inactive_person_is_refused_and_gets_no_new_token(alice):
    _token, plaintext = token_create(alice)
    alice.is_active = False
    alice.save()
    assert token_authenticate(plaintext) is None
    with pytest.raises(TokenError, match="inactive"):
        token_create(alice)


@pytest.mark.parametrize("days", [0, -1, 100000, True, 1.5])
def test_bad_validity_is_refused(alice, days):
    with pytest.raises(TokenError, match="days"):
        token_create(alice, days=days)
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("value", ["", "cg_", "cg_" + "A" * 43, "x" * 10_000, None, 42])
def test_unknown_or_malformed_tokens_are_refused(alice, value):
    token_create(alice)
    assert token_authenticate(value) is None


def test_last_used_is_written_at_most_once_a_minute_and_not_audited(alice, django_assert_num_queries):
    token, plaintext = token_create(alice)
    audited = AuditLog.objects.count()
    before = timezone.now()
    assert token_authenticate(plaintext) == alice
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None and first >= before
    # Within the minute: one read, no write.
    with django_assert_num_queries(1):
        assert token_authenticate(plaintext) == alice
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    # A minute later: written again.
    earlier = first - LAST_USED_RESOLUTION - dt.timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    assert token_authenticate(plaintext) == alice
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first
    assert AuditLog.objects.count() == audited  # usage is not an administrative change


# --- Authorization: Bearer on a Ninja API ----------------------------------------------------------


def test_bearer_get_returns_the_tokens_person(urls, alice, bob):
    _token, plaintext = token_create(alice)
    client = strict_client()
    client.force_login(bob)  # a session cookie of someone else: the presented token decides
    response = client.get("/t/whoami", **bearer(plaintext))
    assert response.status_code == 200
    assert response.json() == {"user": "tok_alice", "auth": "tok_alice"}


def test_bearer_post_needs_no_csrf_token_and_is_audited_as_the_person(urls, alice):
    token, plaintext = token_create(alice)
    response = strict_client().post(
        "/t/notes", data={"name": "令牌写入"}, content_type="application/json", **bearer(plaintext)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == "tok_alice"
    entry = AuditLog.objects.get(model="org.Department", object_id=str(body["department"]))
    assert entry.actor_id == alice.pk and entry.actor_name == "tok_alice"
    assert entry.via == f"api-token:{token.prefix}"


def test_session_post_without_csrf_token_is_refused_and_with_it_accepted(urls, alice):
    client = strict_client()
    client.force_login(alice)
    assert client.get("/t/whoami").json()["user"] == "tok_alice"
    refused = client.post("/t/notes", data={"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    accepted = client.post(
        "/t/notes", data={"name": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 200
    assert accepted.json()["user"] == "tok_alice"


@pytest.mark.parametrize("state", ["wrong", "revoked", "expired", "inactive"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_a_401_json_even_beside_a_valid_session(urls, alice, bob, state, method):
    token, plaintext = token_create(alice)
    if state == "wrong":
        plaintext = "cg_" + "x" * 43
    elif state == "revoked":
        token_revoke(token)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    else:
        Person.objects.filter(pk=alice.pk).update(is_active=False)
    client = strict_client()
    client.force_login(bob)
    if method == "get":
        response = client.get("/t/whoami", **bearer(plaintext))
    else:
        response = client.post(
            "/t/notes", data={"name": "x"}, content_type="application/json", **bearer(plaintext)
        )
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert not Department.objects.filter(code__startswith="TOK-").exists()


def test_no_credentials_is_a_401(urls):
    assert strict_client().get("/t/whoami").status_code == 401
    assert strict_client().get("/t/whoami", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz").status_code == 401


def test_with_the_session_auth_first_a_bearer_post_is_refused_by_its_csrf_check(urls, alice):
    """Why API_AUTH puts BearerAuth first: Ninja's session auth answers 403 on a failed CSRF check."""
    _token, plaintext = token_create(alice)
    client = strict_client()
    assert client.get("/session-first/whoami", **bearer(plaintext)).status_code == 200
    post = client.post(
        "/session-first/notes", data={"name": "x"}, content_type="application/json", **bearer(plaintext)
    )
    assert post.status_code == 403


# --- the command -----------------------------------------------------------------------------------


def test_command_create_prints_the_token_once_with_a_warning(alice, capsys):
    call_command("token", "create", "tok_alice", "--name", "数据接口", "--days", "7")
    out, err = capsys.readouterr()
    plaintext = out.strip()
    assert plaintext.startswith("cg_") and len(plaintext) == 46
    assert token_authenticate(plaintext) == alice
    token = ApiToken.objects.get(person=alice)
    assert token.name == "数据接口" and token.expires_at is not None
    assert plaintext not in err and token.prefix in err
    assert "只显示这一次" in err and "cannot be shown again" in err
    log = AuditLog.objects.filter(model="org.ApiToken").latest("id")
    assert log.via == "cli:token create"


def test_command_list_shows_prefixes_never_tokens(alice, bob, capsys):
    a, a_plain = token_create(alice, "甲")
    b, b_plain = token_create(bob, "乙", days=3)
    token_revoke(b)
    call_command("token", "list")
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:3] == ["prefix", "person", "name"] and "created" in header and "revoked" in header
    assert a.prefix in out and b.prefix in out and "甲" in out and "乙" in out
    assert a_plain not in out and b_plain not in out and a.digest not in out
    b_line = next(line for line in out.splitlines() if b.prefix in line)
    assert "invalid" in b_line
    call_command("token", "list", "tok_alice")
    out = capsys.readouterr().out
    assert a.prefix in out and b.prefix not in out
    ApiToken.objects.all().delete()
    call_command("token", "list")
    assert "no tokens" in capsys.readouterr().out


def test_command_revoke_by_prefix(alice, capsys):
    token, plaintext = token_create(alice)
    call_command("token", "revoke", token.prefix)
    assert "revoked" in capsys.readouterr().out
    assert token_authenticate(plaintext) is None
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    call_command("token", "revoke", token.prefix)
    assert "already revoked" in capsys.readouterr().out
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    assert AuditLog.objects.filter(model="org.ApiToken", action="update", via="cli:token revoke").count() == 1


@pytest.mark.parametrize(
    ("args", "chinese", "english"),
    [
        (["create", "nobody"], "没有用户名", "no person with username 'nobody'"),
        (["list", "nobody"], "没有用户名", "no person with username 'nobody'"),
        (["revoke", "cg_zzzzz"], "没有前缀", "no token with that prefix"),
        (["revoke", "zz"], "没有前缀", "no token with that prefix"),
        (["create", "tok_alice", "--days", "0"], "--days", "must be from 1"),
    ],
)
def test_command_errors_are_clear(alice, args, chinese, english):
    with pytest.raises(CommandError) as caught:
        call_command("token", *args)
    assert chinese in str(caught.value) and english in str(caught.value)
    assert not ApiToken.objects.exists()


def test_command_refuses_an_inactive_person(alice):
    Person.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(CommandError, match=r"账号已停用.*inactive"):
        call_command("token", "create", "tok_alice")


# --- the admin and the policy ----------------------------------------------------------------------


@pytest.fixture
def token_grants(monkeypatch):
    """The grants proposed for the role table (a no-op once core/permissions.py carries them)."""
    role = Role.SECURITY_ADMIN
    monkeypatch.setitem(permissions.GRANTS, role, permissions.GRANTS[role] | TOKEN_GRANTS)


@pytest.fixture
def secadmin():
    return make_person("tok_secadmin", [Role.SECURITY_ADMIN], citywide=True, is_staff=True)


def test_admin_lists_tokens_without_digest_and_revokes(client, token_grants, secadmin, alice):
    token, plaintext = token_create(alice, "巡查 App")
    client.force_login(secadmin)
    page = client.get("/admin/org/apitoken/")
    assert page.status_code == 200
    text = page.content.decode()
    assert token.prefix in text and "巡查 App" in text and "tok_alice" in text
    assert token.digest not in text and plaintext not in text
    change = client.get(f"/admin/org/apitoken/{token.pk}/change/")
    assert change.status_code == 200
    assert token.digest not in change.content.decode() and 'name="prefix"' not in change.content.decode()
    assert client.get("/admin/org/apitoken/add/").status_code == 403
    assert client.get(f"/admin/org/apitoken/{token.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/org/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_authenticate(plaintext) is None
    log = AuditLog.objects.filter(model="org.ApiToken", action="update").latest("id")
    assert log.actor_id == secadmin.pk and "revoked_at" in log.changes["changed"]


def test_admin_refuses_people_without_the_grant(client, token_grants, alice):
    make_person("tok_sysadmin", [Role.SYSTEM_ADMIN], citywide=True, is_staff=True)
    client.force_login(Person.objects.get(username="tok_sysadmin"))
    assert client.get("/admin/org/apitoken/").status_code == 403


def test_policy_places_tokens_like_their_person(token_grants, alice, bob):
    squad = Department.objects.create(code="TOK-SQ", name="令牌中队", kind=DepartmentKind.CHENGGUAN_SQUAD)
    alice.department = squad
    alice.save()
    mine, _ = token_create(alice)
    theirs, _ = token_create(bob)
    scoped = make_person("tok_scoped_sec", [Role.SECURITY_ADMIN])
    scoped.departments.add(squad)
    assert list(visible(Person.objects.get(pk=scoped.pk), ApiToken)) == [mine]
    citywide = make_person("tok_city_sec", [Role.SECURITY_ADMIN], citywide=True)
    assert set(visible(citywide, ApiToken)) == {mine, theirs}
    # Without the grant a person sees no token, not even their own.
    assert not visible(Person.objects.get(pk=alice.pk), ApiToken).exists()
