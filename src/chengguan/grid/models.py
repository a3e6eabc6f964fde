"""Unit grids (万米单元网格): the smallest area of management, each with responsible people."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chengguan.core.models import AuditedModel
from chengguan.org.choices import GridDuty
from chengguan.org.models import Region


class UnitGrid(AuditedModel):
    """A unit grid: community code + sequence (14 or 15 digits), a polygon in WGS-84, an area.

    The street and district are copied from the community so that jurisdiction filters and
    statistics need no joins up the region tree.
    """

    code = models.CharField(_("网格编码"), max_length=15, unique=True)
    community = models.ForeignKey(
        Region,
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="grids",
        limit_choices_to={"level": "community"},
    )
    street = models.ForeignKey(
        Region, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    district = models.ForeignKey(
        Region, verbose_name=_("区/县"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    geometry = models.JSONField(_("边界 (GeoJSON, WGS-84)"))
    area_m2 = models.FloatField(_("面积 (m²)"))
    generated = models.BooleanField(_("自动生成"), default=False)
    responsible = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="GridResponsibility",
        verbose_name=_("责任人"),
        blank=True,
        related_name="grids",
    )

    class Meta:
        verbose_name = _("单元网格")
        verbose_name_plural = _("单元网格")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        street = self.community.parent
        self.street_id = street.pk
        self.district_id = street.parent_id
        super().save(*args, **kwargs)


class GridResponsibility(AuditedModel):
    grid = models.ForeignKey(
        UnitGrid, verbose_name=_("网格"), on_delete=models.CASCADE, related_name="duties"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="grid_duties"
    )
    duty = models.CharField(_("职责"), max_length=16, choices=GridDuty.choices)

    class Meta:
        verbose_name = _("网格责任人")
        verbose_name_plural = _("网格责任人")
        constraints = [models.UniqueConstraint(fields=["grid", "person", "duty"], name="unique_grid_duty")]

    def __str__(self) -> str:
        return f"{self.grid} {self.get_duty_display()} {self.person}"


class GridLattice(AuditedModel):
    """The city-wide lattice the generator cuts unit grids from (degrees, aligned to WGS-84 axes).

    The lattice is regular in longitude/latitude, so a generated grid is exactly a lattice cell
    (clipped at community boundaries) and the locate index, aligned to it, answers almost every
    point with one array lookup. Cells are `cell_m` metres on a side at the lattice's latitude.
    """

    cell_m = models.FloatField(_("网格边长 (m)"))
    x0 = models.FloatField(_("原点经度"))
    y0 = models.FloatField(_("原点纬度"))
    dx = models.FloatField(_("经度步长"))
    dy = models.FloatField(_("纬度步长"))

    class Meta:
        verbose_name = _("网格划分基准")
        verbose_name_plural = _("网格划分基准")

    def __str__(self) -> str:
        return f"{self.cell_m:g} m @ ({self.x0:.6f}, {self.y0:.6f})"

    def cell_box(self, i, j):
        """Bounds of lattice cell (i, j); the same arithmetic as the locate index's raster."""
        return (
            self.x0 + i * self.dx,
            self.y0 + j * self.dy,
            self.x0 + (i + 1) * self.dx,
            self.y0 + (j + 1) * self.dy,
        )
