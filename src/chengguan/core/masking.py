"""Personal data shown masked by default: 张*, 138****1234, 湘A·***12.

Staff see these forms unless they hold the permission to see a person's full details and ask for
them (an audited action, see cases: `case_reveal`); public pages and public APIs never carry the
fields at all (allow-list schemas)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_name(name: str | None) -> str:
    """The family name kept, the rest starred: 张三 → 张*, 欧阳娜娜 → 欧***, Li Lei → L*****."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str:
    """A mobile number keeps its first 3 and last 4 digits (138****1234); anything else keeps only
    its last 4 digits (****1234); 4 digits or fewer are starred entirely."""
    digits = "".join(_DIGITS.findall(phone or ""))
    if not digits:
        return ""
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" + digits[-4:]


def mask_plate(plate: str | None) -> str:
    """A vehicle plate keeps its province and city letter and its last two characters: 湘A·***12."""
    plate = re.sub(r"[\s·.\-]", "", plate or "")
    if len(plate) <= 4:
        return "*" * len(plate)
    return f"{plate[:2]}·{'*' * (len(plate) - 4)}{plate[-2:]}"
