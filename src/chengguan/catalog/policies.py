from chengguan.core.permissions import Policy, register

from .models import Catalog, MajorClass, MinorClass, StageLimit

# The catalogue is shared by the whole city: every member of staff reads it; the system
# administrator (city-wide) maintains it.
for model in (Catalog, MajorClass, MinorClass, StageLimit):
    register(model, Policy(global_read=True))
