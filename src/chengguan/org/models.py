"""The city's organisation: regions (区 → 街道 → 社区), departments and the people who act for them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chengguan.core import crypto
from chengguan.core.fields import EncryptedTextField
from chengguan.core.models import AuditedModel

from .choices import REGION_CODE_LENGTH, DepartmentKind, RegionKind, RegionLevel, Role


class Region(AuditedModel):
    """An administrative area: a district (区/县), a street (街道/镇/园区) or a community (社区).

    `path` is the chain of ancestor ids ("/3/17/120/") so that "this region and everything
    below it" is one prefix filter whatever the codes look like.
    """

    level = models.CharField(_("层级"), max_length=16, choices=RegionLevel.choices, db_index=True)
    kind = models.CharField(_("类型"), max_length=16, choices=RegionKind.choices)
    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=64, db_index=True, editable=False, default="")
    geometry = models.JSONField(_("边界 (GeoJSON, WGS-84)"), null=True, blank=True)
    area_m2 = models.FloatField(_("面积 (m²)"), null=True, blank=True)

    class Meta:
        verbose_name = _("行政区域")
        verbose_name_plural = _("行政区域")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        expected = REGION_CODE_LENGTH.get(self.level)
        if expected and (len(self.code) != expected or not self.code.isdigit()):
            raise ValidationError(
                {
                    "code": _("%(level)s的代码应为 %(n)d 位数字")
                    % {"level": self.get_level_display(), "n": expected}
                }
            )
        if self.level == RegionLevel.DISTRICT and self.parent_id:
            raise ValidationError({"parent": _("区/县没有上级区域")})
        if self.level != RegionLevel.DISTRICT:
            if not self.parent_id:
                raise ValidationError({"parent": _("必须指定上级区域")})
            parent_level = {
                RegionLevel.STREET: RegionLevel.DISTRICT,
                RegionLevel.COMMUNITY: RegionLevel.STREET,
            }
            if self.parent.level != parent_level[self.level]:
                raise ValidationError({"parent": _("上级区域层级不正确")})

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if path != self.path:
            self.path = path
            type(self).objects.filter(pk=self.pk).update(path=path)

    @property
    def district(self) -> Region:
        node = self
        while node.parent_id:
            node = node.parent
        return node


class Department(AuditedModel):
    """A department that handles work (专业部门), a squad, a street office or a contractor."""

    code = models.CharField(_("部门编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=32, choices=DepartmentKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=128, db_index=True, editable=False, default="")
    region = models.ForeignKey(
        Region,
        verbose_name=_("所属区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
    )
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        node = self.parent
        while node is not None:
            if node.pk == self.pk:
                raise ValidationError({"parent": _("上级部门不能是自己或自己的下级")})
            node = node.parent

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if path != self.path:
            self.path = path
            type(self).objects.filter(pk=self.pk).update(path=path)


class RoleGrant(models.Model):
    """A role held by a person (a person may hold several, e.g. 值班长 and 派遣员 in a small city)."""

    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, unique=True)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(Role(self.role).label)


class Person(AbstractUser):
    """A person who logs in: staff of the bureau, a department or a contractor.

    Roles grant actions; jurisdictions (regions and departments, or the whole city) limit records.
    """

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    # Personal data: encrypted at rest, shown masked (138****1234) except to whoever manages the
    # person (the admin's change form, audited); found by an exact number through `phone_index`.
    phone = EncryptedTextField(_("手机号"), max_length=20, blank=True)
    phone_index = models.CharField(_("手机号索引"), max_length=64, blank=True, db_index=True, editable=False)
    department = models.ForeignKey(
        Department,
        verbose_name=_("所在部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    roles = models.ManyToManyField(RoleGrant, verbose_name=_("角色"), blank=True, related_name="people")
    citywide = models.BooleanField(_("全市范围"), default=False, help_text=_("管辖全市所有区域和部门"))
    regions = models.ManyToManyField(
        Region,
        verbose_name=_("管辖区域"),
        blank=True,
        related_name="people",
        help_text=_("可以处理这些区域及其下级区域的记录"),
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("代表部门"),
        blank=True,
        related_name="members",
        help_text=_("可以处理这些部门及其下级部门的记录"),
    )

    # Changed (by the signals in org/signals.py) whenever the person's roles, regions or
    # departments change, or any region, department or role is changed: per-process caches of
    # what a person may do are keyed by it, so a change counts on the very next request.
    access_stamp = models.BigIntegerField(_("权限版本"), default=0, editable=False)
    # When the password was last set (`set_password`): staff passwords expire after
    # PASSWORD_MAX_AGE_DAYS (org/passwords.py) and an expired one must be changed after login.
    password_changed_at = models.DateTimeField(_("密码修改时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    def save(self, *args, **kwargs) -> None:
        self.phone_index = phone_index(self.phone)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_index"}
        super().save(*args, **kwargs)

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def check_password(self, raw_password) -> bool:
        # A successful check may re-hash the password with a newer hasher (set_password):
        # that is not a change of password and must not restart its expiry.
        changed_at = self.password_changed_at
        result = super().check_password(raw_password)
        self.password_changed_at = changed_at
        return result

    def role_codes(self) -> frozenset[str]:
        if not self.pk:
            return frozenset()
        from .selectors import person_access

        return person_access(self).roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes() & set(roles))


def normalise_phone(phone: str | None) -> str:
    """The digits of a phone number, without China's +86: what `phone_index` is computed from."""
    digits = "".join(c for c in (phone or "") if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def phone_index(phone: str | None) -> str:
    """The keyed hash of a person's phone number (core.crypto.lookup_hash); "" for none."""
    return crypto.lookup_hash("org.Person.phone", normalise_phone(phone))


class UserSession(models.Model):
    """One logged-in session of a person: the index from people to their sessions, so that a
    disabled account's sessions and the sessions an administrator ends can be found and deleted
    (Django's session store is keyed by session only). Written at login, removed at logout;
    managed through `chengguan.org.sessions`."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(_("会话"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("登录时间"), default=timezone.now, editable=False)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True, editable=False)
    user_agent = models.CharField(_("浏览器"), max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.person} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class ApiToken(AuditedModel):
    """A personal API token (`Authorization: Bearer cg_…`) acting as its person.

    Only the SHA-256 digest of the token is stored: the token itself is shown once, when it is
    created, and can never be shown again. `prefix` (its first 8 characters) names it in lists.
    Issue and revoke tokens through `chengguan.org.tokens`, never by writing these fields.
    """

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("人员"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("名称"), max_length=100, blank=True)
    prefix = models.CharField(_("令牌前缀"), max_length=8, unique=True, editable=False)
    digest = models.CharField(_("令牌摘要 (SHA-256)"), max_length=64, unique=True, editable=False)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name}".rstrip()
