"""Password policy (等保 身份鉴别 a): ≥ 8 characters, 3 of 4 classes, Django's common passwords and
a Chinese-context blocklist; argon2id; staff passwords expire and must be changed after login."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from chengguan.org.models import Person
from chengguan.org.passwords import CharacterClassesValidator, password_expired
from tests.conftest import PASSWORD

from .conftest import full_login, password_login

pytestmark = pytest.mark.django_db


def refused(password: str, user=None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1#xyz", "password_too_short"),  # 7 characters
        ("abcdefghij", "password_too_few_classes"),  # 1 class
        ("abcdefgh12", "password_too_few_classes"),  # 2 classes
        ("ABCDEFG#%!", "password_too_few_classes"),  # 2 classes
        ("Password1!", "password_too_common"),  # Django's list
        ("Zhangwei@1990", "password_blocklisted"),  # a pinyin name and a year
        ("Woaini1314!", "password_blocklisted"),
        ("Chengguan#2026", "password_blocklisted"),  # the product's name and a year
        ("Qwerty@123", "password_blocklisted"),
        ("5201314#Aa", "password_blocklisted"),  # a phrase of numbers dressed with letters
        ("1990-01-01#", "password_blocklisted"),  # a birthday
    ],
)
def test_weak_passwords_are_refused(password, code):
    assert code in refused(password)


@pytest.mark.parametrize("password", ["Hu7#mountain", "lamp-Orbit-92", "巡查Gz#2026xk", "x" * 50 + "Y7!"])
def test_strong_passwords_pass(password):
    assert refused(password) == []


def test_a_password_like_the_persons_name_is_refused(people):
    person = people["operator_a"]
    person.full_name = "Operatorman"
    assert "password_too_similar" in refused("Operator_a#1", person)


def test_the_class_count_is_a_setting(settings):
    assert CharacterClassesValidator.classes("aA1#") == 4
    assert CharacterClassesValidator.classes("aA") == 2
    settings.PASSWORD_MIN_CLASSES = 2
    assert "password_too_few_classes" not in refused("abcdefgh12")


def test_new_passwords_are_hashed_with_argon2id(people):
    encoded = make_password("Hu7#mountain")
    assert identify_hasher(encoded).algorithm == "argon2" and encoded.startswith("argon2$argon2id$")
    person = people["inspector_a"]
    person.set_password("Hu7#mountain")
    person.save()
    assert Person.objects.get(pk=person.pk).password.startswith("argon2$argon2id$")


def test_an_older_hash_is_upgraded_to_argon2id_at_login_without_restarting_expiry(client, people):
    person = people["operator_a"]
    changed = timezone.now() - dt.timedelta(days=10)
    Person.objects.filter(pk=person.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256"), password_changed_at=changed
    )
    assert password_login(client, "operator_a").status_code == 302
    person.refresh_from_db()
    assert person.password.startswith("argon2$argon2id$")
    assert person.password_changed_at == changed


def test_setting_a_password_restarts_its_age(people):
    person = people["operator_a"]
    with time_machine.travel(timezone.now() + dt.timedelta(days=200)):
        assert password_expired(person)
        person.set_password("Hu7#mountain")
        assert not password_expired(person)


def test_expiry_is_a_setting(settings, people):
    person = people["operator_a"]
    later = timezone.now() + dt.timedelta(days=91)
    assert password_expired(person, later)
    settings.PASSWORD_MAX_AGE_DAYS = 0
    assert not password_expired(person, later)


def test_an_expired_password_must_be_changed_after_login(client, people):
    person = people["dispatcher_a"]
    Person.objects.filter(pk=person.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=91))
    response = password_login(client, "dispatcher_a")
    assert response["Location"].startswith("/account/password/")
    # Nothing else is open until it is changed: pages, the API.
    assert client.get("/desk/")["Location"] == "/account/password/?next=%2Fdesk%2F"
    assert client.get("/api/v1/cases/").status_code == 401
    page = client.get("/account/password/")
    assert page.status_code == 200 and "您的密码已过期" in page.content.decode()
    # The new password goes through the policy, and may not be the old one.
    weak = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "zhangwei1990", "new_password2": "zhangwei1990"},
    )
    assert weak.status_code == 200 and "太容易被猜到" in weak.content.decode()
    same = client.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD}
    )
    assert same.status_code == 200 and "不能与当前密码相同" in same.content.decode()
    done = client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Hu7#mountain",
            "new_password2": "Hu7#mountain",
            "next": "/desk/",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/desk/"
    assert client.get("/desk/", follow=True).status_code == 200
    person.refresh_from_db()
    assert not password_expired(person) and person.check_password("Hu7#mountain")


def test_changing_the_password_ends_the_persons_other_sessions(people):
    from django.test import Client

    person = people["operator_a"]
    here, elsewhere = Client(), Client()
    full_login(here, person)
    full_login(elsewhere, person, ip="198.51.100.7")
    assert elsewhere.get("/desk/").status_code in {200, 302}
    response = here.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "Hu7#mountain", "new_password2": "Hu7#mountain"},
    )
    assert response.status_code == 302
    assert here.get("/workbench/operator/").status_code == 200
    assert elsewhere.get("/workbench/operator/")["Location"].startswith("/login/")
    assert person.sessions.count() == 1
