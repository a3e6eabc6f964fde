"""Web (等保 通信传输, 入侵防范): a Content-Security-Policy on every page, HTTPS settings in
production with `chengguan check --deploy` clean, request-size limits, rate limits on the
public endpoints (Open311 here; the public pages in tests/web/test_public_pages.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize(
    "path", ["/login/", "/public/report/", "/public/map/", "/admin/login/", "/api/v1/docs"]
)
def test_every_page_has_a_strict_content_security_policy(client, path):
    response = client.get(path, follow=True)
    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]  # no 'unsafe-inline'
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


def test_the_staff_pages_have_it_too(client_for, people):
    response = client_for(people["leader"]).get("/command/")
    assert response.status_code == 200 and "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_no_template_has_an_inline_script_style_or_handler():
    """What the policy would block, checked at the source: every <script> has a src (or is data:
    application/json), no <style> element, no style= or on…= attribute."""
    import re

    import chengguan

    root = Path(chengguan.__file__).parent
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attrs = match.group(1)
            if "src=" not in attrs and "application/json" not in attrs:
                offenders.append(f"{template.relative_to(root)}: inline <script>")
        if re.search(r"<style\b", text):
            offenders.append(f"{template.relative_to(root)}: <style>")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{template.relative_to(root)}: style=")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template.relative_to(root)}: inline event handler")
    assert not offenders, "\n".join(offenders)


def test_a_request_body_above_the_limit_is_refused_before_it_is_read(client, settings):
    settings.REQUEST_MAX_BYTES = 1024
    response = client.post("/public/report/", data=b"x" * 2048, content_type="application/octet-stream")
    assert response.status_code == 413


def test_upload_limits_fit_the_photo_limit(settings):
    from chengguan.cases.photos import DEFAULT_MAX_BYTES
    from chengguan.web.forms import MAX_PHOTOS

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440  # fields, not files
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES >= MAX_PHOTOS
    assert settings.REQUEST_MAX_BYTES >= MAX_PHOTOS * DEFAULT_MAX_BYTES + 1024 * 1024


def test_open311_reads_and_posts_are_rate_limited_per_address(settings, city):
    settings.PUBLIC_RATE_LIMITS = {"open311_read": (3, 60), "open311_write": (2, 3600)}
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        assert client.get("/open311/v2/services.json").status_code == 200
    refused = client.get("/open311/v2/services.json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()[0]["code"] == 429
    assert Client(REMOTE_ADDR="203.0.113.10").get("/open311/v2/services.json").status_code == 200
    for _ in range(2):
        assert client.post("/open311/v2/requests.json", {}).status_code != 429
    assert client.post("/open311/v2/requests.json", {}).status_code == 429


def run_chengguan(tmp_path, *args, extra_env=None) -> subprocess.CompletedProcess:
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
        },
        "CHENGGUAN_ENV": "production",
        "SECRET_KEY": "a-production-key-" + "k3Y9#x" * 10,
        "ALLOWED_HOSTS": "cg.example.gov.cn",
        "DATA_KEY": base64.urlsafe_b64encode(b"0123456789abcdef0123456789abcdef").decode(),
        # A fresh, empty database: the check is about configuration, not data.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "CHENGGUAN_VAR_DIR": str(tmp_path),
        **(extra_env or {}),
    }
    exe = Path(sys.executable).with_name("chengguan")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def test_check_deploy_with_production_settings_has_no_warning(tmp_path):
    result = run_chengguan(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_settings_https_argon2id_and_a_required_secret_key(tmp_path):
    script = (
        "from django.conf import settings as s; from django.contrib.auth.hashers import make_password; "
        "import json; print(json.dumps({'hasher': make_password('Hu7#mountain')[:16], "
        "'redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], 'debug': s.DEBUG}))"
    )
    result = run_chengguan(tmp_path, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["hasher"] == "argon2$argon2id$"
    assert values["redirect"] is True and values["hsts"] >= 31536000
    assert values["cookies"] == [True, True] and values["debug"] is False
    missing = run_chengguan(tmp_path, "check", extra_env={"SECRET_KEY": ""})
    assert missing.returncode != 0 and "SECRET_KEY" in missing.stderr
    debug = run_chengguan(tmp_path, "check", extra_env={"DEBUG": "true"})
    assert debug.returncode != 0 and "DEBUG" in debug.stderr
