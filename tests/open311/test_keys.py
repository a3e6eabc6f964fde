"""Open311 api_keys: issued once on the command line and stored as a digest, listed and revoked by
prefix; in the admin the security administrator lists, renames and revokes them (no add page, no
digest); nobody else sees them."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chengguan.core.models import AuditLog
from chengguan.core.permissions import GRANTS, can
from chengguan.open311.keys import key_authenticate, key_create
from chengguan.open311.models import Open311Key
from chengguan.org.choices import Role

pytestmark = pytest.mark.django_db
# What the security administrator is granted (by open311/policies.py).
KEY_GRANTS = {"open311.view_open311key", "open311.change_open311key"}


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("open311", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_only_the_key_and_stores_only_its_digest(city):
    out, err = run("key", "create", "12345 热线平台")
    plaintext = out.strip()
    assert out == plaintext + "\n" and plaintext.startswith("o311_") and len(plaintext) == 48
    key = Open311Key.objects.get()
    assert key.name == "12345 热线平台" and key.prefix == plaintext[:12]
    assert key.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.revoked_at is None and key.last_used_at is None and key.created_at is not None
    assert key.prefix in err and "只显示这一次" in err and "shown only this once" in err
    # Nowhere in the database: not in the record, not in the audit log.
    for row in Open311Key.objects.values():
        assert plaintext not in json.dumps(row, default=str)
    (entry,) = AuditLog.objects.filter(model="open311.Open311Key")
    assert entry.action == "create" and entry.via == "cli:open311 key create"
    assert plaintext not in json.dumps(entry.changes) and key.digest not in json.dumps(entry.changes)
    assert key_authenticate(plaintext) == key


def test_list_and_revoke_by_prefix(city):
    first = run("key", "create", "市民 App")[0].strip()
    run("key", "create", "12345 热线平台")
    out, _ = run("key", "list")
    assert "市民 App" in out and "12345 热线平台" in out and first[:12] in out and first not in out
    out, _ = run("key", "revoke", first[:12])
    assert "已撤销" in out and "revoked" in out
    assert Open311Key.objects.get(prefix=first[:12]).revoked_at is not None
    assert key_authenticate(first) is None
    out, _ = run("key", "revoke", first[:12])
    assert "already revoked" in out
    listed = run("key", "list")[0]
    assert "revoked" in listed and "valid" in listed


def test_command_errors_in_chinese_and_english(city):
    with pytest.raises(CommandError, match=r"没有前缀为.*no key with that prefix"):
        run("key", "revoke", "o311_unknown")
    with pytest.raises(CommandError, match=r"请填写接入系统名称.*required"):
        run("key", "create", "  ")
    with pytest.raises(CommandError, match=r"最多 100 字.*too long"):
        run("key", "create", "名" * 101)
    assert run("key", "list")[0].strip() == "没有密钥 · no keys"


def test_the_security_administrator_manages_keys_in_the_admin(client, people, city):
    assert KEY_GRANTS <= GRANTS[Role.SECURITY_ADMIN]
    key, plaintext = key_create("市民 App")
    client.force_login(people["secadmin"])
    page = client.get("/admin/open311/open311key/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "市民 App" in text and key.prefix in text and key.digest not in text
    assert client.get("/admin/open311/open311key/add/").status_code == 403
    change = client.get(f"/admin/open311/open311key/{key.pk}/change/")
    assert change.status_code == 200 and key.digest not in change.content.decode()
    assert 'name="digest"' not in change.content.decode() and 'name="prefix"' not in change.content.decode()
    assert client.get(f"/admin/open311/open311key/{key.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/open311/open311key/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None and key_authenticate(plaintext) is None
    assert AuditLog.objects.filter(
        model="open311.Open311Key", object_id=str(key.pk), action="update"
    ).exists()


def test_nobody_else_sees_keys(client, people, city):
    key_create("市民 App")
    for name in ("sysadmin", "auditor", "leader", "operator_a"):
        assert not can(people[name], "view", Open311Key)
    for name in ("sysadmin", "auditor"):
        client.force_login(people[name])
        assert client.get("/admin/open311/open311key/").status_code == 403
