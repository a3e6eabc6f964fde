from chengguan.core.permissions import Policy, register

from .models import GridLattice, GridResponsibility, UnitGrid

register(GridLattice, Policy(global_read=True))
register(UnitGrid, Policy(region_fields=("community", "street", "district")))
register(GridResponsibility, Policy(region_fields=("grid__community", "grid__street", "grid__district")))
