"""The audit log: every create, update and delete of a registry record, written by signals; logins,
logouts and failed logins; permission denials at the chokepoint; views of personal data; exports.

Bulk operations that bypass signals (grid generation, imports) call `record_bulk()` themselves.

**Tamper evidence.** Each row carries the SHA-256 of its content (`digest`, set once when written).
`seal()` (the worker, every minute; `chengguan audit seal`) folds the rows written since the last
seal, in id order, into a hash chain — chain = SHA-256(previous chain : id : digest of the content
as it is now) — and stores the chain value, the count and an HMAC of both with a key derived from
DATA_KEY that the database does not hold (`AuditSeal`). `verify()` (`chengguan audit verify`)
recomputes everything from the rows: a row whose content no longer matches its digest, a row
removed or inserted inside a sealed range (the chain differs), or a seal rewritten without the key
(the HMAC differs) is reported. Rows younger than AUDIT_SEAL_LAG_SECONDS (default 300) are not
sealed yet, so that a transaction still open when its row's id was taken is not left out; until
sealed, a row is only protected by its digest. Write the head chain value `verify` prints into the
bureau's paper or off-system records now and then: it anchors everything before it.

**Denials survive a rollback.** A denial is usually followed by an exception that rolls back the
transaction it happened in, and with it a row written there. Each request (the middleware) opens a
`request_scope()`; `denied()` remembers the rows it wrote inside a transaction, and when the
request ends — after every transaction of the view is over — any of them the database no longer
holds is written again, unchanged but for `"rolled_back": true` in its changes (same time, actor,
request). One mechanism for SQLite (one writer: a second connection would wait for the view's own
transaction) and PostgreSQL alike. The same end of the request records what no chokepoint saw: a
403 answer with no denial recorded (an admin page, a role check in a view) is a denial, and a
download (`Content-Disposition: attachment`: the ledger's and the evaluation reports' Excel and
PDF files, on pages and the API alike) is an export.

**Retention.** `prune()` deletes whole sealed ranges older than AUDIT_RETENTION_DAYS (default 365,
never less than 180, as 等保 2.0 requires); the seals stay, so the chain still verifies from the
first remaining range.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import IntegrityError, connection, connections, models, router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from . import context
from .crypto import seal_mac
from .fields import EncryptedTextField
from .models import AuditAction, AuditedModel, AuditLog, AuditSeal

# Fields never written to the log, and fields logged only as a digest (large geometry).
SECRET_FIELDS = {"password", "digest"}
DIGEST_FIELDS = {"geometry"}
SKIPPED_FIELDS = {"updated_at", "created_at", "last_login", "path", "phone_index"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        name = field.attname
        if field.name in SKIPPED_FIELDS:
            continue
        value = getattr(instance, name)
        if isinstance(field, EncryptedTextField):
            # Personal data never enters the log in clear: a keyed digest shows that it changed.
            value = "enc:" + seal_mac(f"{instance._meta.label}.{name}:{value}")[:12] if value else ""
        elif field.name in SECRET_FIELDS:
            value = hashlib.sha256(str(value).encode()).hexdigest()[:12] if value else ""
        elif field.name in DIGEST_FIELDS and value is not None:
            canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
            value = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
        data[name] = _jsonable(value)
    return data


def is_audited(model: type[models.Model]) -> bool:
    return issubclass(model, AuditedModel) or model._meta.label == "org.Person"


def _fields(action: str, model_label: str, object_id: Any, object_repr: str, changes: dict) -> dict:
    ctx = context.current()
    return {
        "actor_id": ctx.user_id,
        "actor_name": ctx.username,
        "action": action,
        "model": model_label,
        "object_id": "" if object_id is None else str(object_id),
        "object_repr": object_repr[:200],
        "changes": changes,
        "request_id": ctx.request_id,
        "ip": ctx.ip,
        "via": ctx.via,
    }


def write(action: str, model_label: str, object_id: Any, object_repr: str, changes: dict) -> AuditLog:
    return AuditLog.objects.create(**_fields(action, model_label, object_id, object_repr, changes))


def record_bulk(model: type[models.Model], description: str, details: dict | None = None) -> AuditLog:
    return write(AuditAction.BULK, model._meta.label, None, description, details or {})


def _pre_save(sender, instance, raw=False, **kwargs):
    if raw or not is_audited(sender):
        return
    before = None
    if instance.pk is not None:
        old = sender._default_manager.filter(pk=instance.pk).first()
        before = snapshot(old) if old is not None else None
    instance._audit_before = before


def _post_save(sender, instance, created, raw=False, **kwargs):
    if raw or not is_audited(sender):
        return
    after = snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        write(AuditAction.CREATE, sender._meta.label, instance.pk, str(instance), {"after": after})
        return
    changed = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changed:
        write(AuditAction.UPDATE, sender._meta.label, instance.pk, str(instance), {"changed": changed})


def _post_delete(sender, instance, **kwargs):
    if not is_audited(sender):
        return
    write(AuditAction.DELETE, sender._meta.label, instance.pk, str(instance), {"before": snapshot(instance)})


def _m2m_changed(sender, instance, action, model, pk_set, reverse, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"} or reverse or not is_audited(type(instance)):
        return
    field = next(
        (f.name for f in type(instance)._meta.many_to_many if f.remote_field.through is sender),
        sender.__name__,
    )
    write(
        AuditAction.UPDATE,
        type(instance)._meta.label,
        instance.pk,
        str(instance),
        {"m2m": {field: {action.removeprefix("post_"): sorted(_jsonable(list(pk_set or [])))}}},
    )


def _logged_in(sender, request, user, **kwargs):
    write(AuditAction.LOGIN, user._meta.label, user.pk, user.get_username(), {})


def _logged_out(sender, request, user, **kwargs):
    if user is not None and not getattr(request, "_audit_session_end", False):
        write(AuditAction.LOGOUT, user._meta.label, user.pk, user.get_username(), {})


def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))[:150]
    write(AuditAction.LOGIN_FAILED, "org.Person", None, username, {"username": username})


def person_event(action: str, person, changes: dict | None = None) -> AuditLog:
    """A security event about a person's account (two-factor, re-authentication, a session ended),
    named like logins: the person's model, id and username."""
    return write(action, person._meta.label, person.pk, person.get_username(), changes or {})


# --- denials and exports, at the end of a request -----------------------------------------------------


@dataclasses.dataclass
class _Scope:
    pending: list[dict] = dataclasses.field(default_factory=list)  # denial rows written in a transaction
    denials: int = 0


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("chengguan_audit_scope", default=None)


def denied(model_label: str, object_id, action: str) -> None:
    """A permission denial (the chokepoint calls this when it refuses an action)."""
    fields = _fields(
        AuditAction.DENIED, model_label, object_id, f"{action} {model_label}", {"action": action}
    )
    row = AuditLog.objects.create(**fields)
    scope = _scope.get()
    if scope is None:
        return
    scope.denials += 1
    if connections[router.db_for_write(AuditLog)].in_atomic_block:
        scope.pending.append({**fields, "at": row.at, "id": row.pk, "digest": row.digest})


def flush_denials(scope: _Scope) -> int:
    """Write again the denial rows a rolled-back transaction took away; returns how many. Call it
    once the transactions they were written in are over (the end of the request)."""
    if not scope.pending:
        return 0
    pending, scope.pending = scope.pending, []
    db = router.db_for_write(AuditLog)
    if connections[db].needs_rollback:  # pragma: no cover - only inside a broken outer transaction
        return 0
    # Compare digests, not only ids: SQLite may give a rolled-back id to a later row.
    kept = set(
        AuditLog.objects.using(db).filter(pk__in=[p["id"] for p in pending]).values_list("pk", "digest")
    )
    written = 0
    for p in pending:
        if (p["id"], p["digest"]) in kept:
            continue
        fields = {k: v for k, v in p.items() if k not in {"id", "digest"}}
        fields["changes"] = {**fields["changes"], "rolled_back": True}
        AuditLog.objects.using(db).create(**fields)
        written += 1
    return written


@contextlib.contextmanager
def request_scope():
    """Around a request (or any unit of work): denials written in a transaction that then rolls
    back are written again when it ends (see the module's docstring)."""
    scope = _Scope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        flush_denials(scope)


def _attachment_name(disposition: str) -> str:
    for part in disposition.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() in {"filename*", "filename"} and value:
            from urllib.parse import unquote

            value = value.strip('"')
            return unquote(value.split("''", 1)[1]) if "''" in value else value
    return ""


def record_response(request, response, scope: _Scope) -> None:
    """What the response itself tells: a 403 nobody recorded is a denial; a download is an export."""
    match = getattr(request, "resolver_match", None)
    view = (match.view_name if match else "") or "http"
    where = f"{request.method} {request.path}"
    if response.status_code == 403 and scope.denials == 0:
        scope.denials += 1
        write(AuditAction.DENIED, view, None, where, {"status": 403, "path": request.path})
        return
    disposition = response.get("Content-Disposition", "") if hasattr(response, "get") else ""
    if 200 <= response.status_code < 300 and disposition.lower().startswith("attachment"):
        query = {k: request.GET.getlist(k) for k in request.GET}
        write(
            AuditAction.EXPORT,
            view,
            None,
            _attachment_name(disposition) or where,
            {"path": request.path, "query": query, "content_type": response.get("Content-Type", "")},
        )


# --- tamper evidence ----------------------------------------------------------------------------------

GENESIS = "0" * 64
_CONTENT = (
    "at",
    "actor_id",
    "actor_name",
    "action",
    "model",
    "object_id",
    "object_repr",
    "changes",
    "request_id",
    "ip",
    "via",
)


def row_digest(row: dict) -> str:
    """SHA-256 of an audit row's content, canonical: the same whether computed before the insert
    or from the row read back on SQLite or PostgreSQL."""
    at = row["at"]
    body = {name: row.get(name) for name in _CONTENT}
    body["at"] = at.astimezone(dt.UTC).isoformat(timespec="microseconds") if at else None
    body["object_id"] = str(body["object_id"] or "")
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _link(chain: str, row_id: int, digest: str) -> str:
    return hashlib.sha256(f"{chain}:{row_id}:{digest}".encode()).hexdigest()


def _seal_message(upto_id: int, rows: int, chain: str) -> str:
    return f"{upto_id}:{rows}:{chain}"


def seal_lag() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "AUDIT_SEAL_LAG_SECONDS", 300)))


def seal(now: dt.datetime | None = None, batch: int = 20_000) -> AuditSeal | None:
    """Seal the rows written since the last seal and older than the lag (None: nothing to seal).
    A row whose content no longer matches its digest is not sealed over: ValueError."""

    now = now or timezone.now()
    cutoff = now - seal_lag()
    with transaction.atomic():
        if connection.vendor == "postgresql":  # one sealer at a time (SQLite: one writer anyway)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('chengguan.audit.seal'))")
        last = AuditSeal.objects.order_by("-upto_id").first()
        chain, upto, n = (last.chain, last.upto_id, 0) if last else (GENESIS, 0, 0)
        rows = AuditLog.objects.filter(id__gt=upto).order_by("id").values("id", "digest", *_CONTENT)[:batch]
        for row in rows:
            if row["at"] >= cutoff:
                break
            if row_digest(row) != row["digest"]:
                raise ValueError(
                    f"audit row {row['id']} does not match its digest: run `chengguan audit verify`"
                )
            chain, upto, n = _link(chain, row["id"], row["digest"]), row["id"], n + 1
        if n == 0:
            return None
        try:
            return AuditSeal.objects.create(
                upto_id=upto, rows=n, chain=chain, mac=seal_mac(_seal_message(upto, n, chain)), sealed_at=now
            )
        except IntegrityError:  # pragma: no cover - a concurrent sealer on a database without the lock
            return None


@dataclasses.dataclass
class Verification:
    rows: int = 0
    seals: int = 0
    unsealed: int = 0
    head: str = GENESIS
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> Verification:
    """Recompute every digest and the chain over all rows and check every seal."""
    result = Verification()
    seals = list(AuditSeal.objects.order_by("upto_id").values("upto_id", "rows", "chain", "mac"))
    for s in seals:
        if seal_mac(_seal_message(s["upto_id"], s["rows"], s["chain"])) != s["mac"]:
            result.problems.append(f"seal ≤{s['upto_id']}: signature does not match (seal rewritten)")
    first_row = AuditLog.objects.order_by("id").values_list("id", flat=True).first()
    # Pruned ranges: start from the last seal before the first remaining row.
    start = [s for s in seals if first_row is not None and s["upto_id"] < first_row]
    chain = start[-1]["chain"] if start else GENESIS
    if (
        start
        and not AuditLog.objects.filter(
            action=AuditAction.BULK, model=AuditLog._meta.label, object_repr=f"prune ≤{start[-1]['upto_id']}"
        ).exists()
    ):
        result.problems.append(f"rows up to {start[-1]['upto_id']} are gone and no prune recorded it")
    pending = [s for s in seals if not start or s["upto_id"] > start[-1]["upto_id"]]
    count = 0
    rows = AuditLog.objects.order_by("id").values("id", "digest", *_CONTENT)
    for row in rows.iterator(chunk_size=5000):
        result.rows += 1
        if row_digest(row) != row["digest"]:
            result.problems.append(f"row {row['id']}: content changed after it was written")
        while pending and row["id"] > pending[0]["upto_id"]:  # a seal's last row is missing
            seal_row = pending.pop(0)
            result.problems.append(f"seal ≤{seal_row['upto_id']}: rows removed (chain cannot reach it)")
        if not pending:
            result.unsealed += 1
            continue
        chain, count = _link(chain, row["id"], row["digest"]), count + 1
        if row["id"] == pending[0]["upto_id"]:
            s = pending.pop(0)
            result.seals += 1
            if (s["chain"], s["rows"]) != (chain, count):
                result.problems.append(
                    f"seal ≤{s['upto_id']}: chain differs (a row removed, inserted or rewritten)"
                )
                chain = s["chain"]  # go on from the seal, to report later ranges on their own
            count = 0
    for s in pending:
        result.problems.append(f"seal ≤{s['upto_id']}: rows removed (chain cannot reach it)")
    result.head = seals[-1]["chain"] if seals else GENESIS
    return result


def retention_days() -> int:
    return max(int(getattr(settings, "AUDIT_RETENTION_DAYS", 365)), 180)


def prune(now: dt.datetime | None = None) -> int:
    """Delete whole sealed ranges whose seal is older than the retention; returns rows deleted."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=retention_days())
    last_old = AuditSeal.objects.filter(sealed_at__lt=cutoff).order_by("-upto_id").first()
    if last_old is None:
        return 0
    with transaction.atomic():
        doomed = AuditLog.objects.filter(id__lte=last_old.upto_id)
        deleted = doomed._raw_delete(doomed.db)  # the one sanctioned deletion: whole sealed ranges
        write(AuditAction.BULK, AuditLog._meta.label, None, f"prune ≤{last_old.upto_id}", {"rows": deleted})
    return deleted


def connect() -> None:
    for model in apps.get_models():
        if is_audited(model):
            pre_save.connect(_pre_save, sender=model, dispatch_uid=f"audit-pre-{model._meta.label}")
            post_save.connect(_post_save, sender=model, dispatch_uid=f"audit-post-{model._meta.label}")
            post_delete.connect(_post_delete, sender=model, dispatch_uid=f"audit-del-{model._meta.label}")
    m2m_changed.connect(_m2m_changed, dispatch_uid="audit-m2m")
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
