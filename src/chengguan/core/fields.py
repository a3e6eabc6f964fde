"""Model fields of the core: `EncryptedTextField` for personal data (see core/crypto.py)."""

from __future__ import annotations

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Text stored encrypted (AES-256-GCM) and read back in clear; `max_length` limits the clear
    text (forms, the admin). An empty value is stored empty, so `field=""` still finds the blank
    ones; any other lookup on the value cannot match (each encryption differs) — look such data
    up by another field. Mark personal fields with it (PIPL; 等保 2.0 data confidentiality)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
