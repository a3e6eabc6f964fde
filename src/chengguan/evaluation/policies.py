"""Evaluation in the permission chokepoint.

Figures are read per evaluated object, and an object reaches a person only through `visible()`
on its own model (region, grid, department, person); the case ids behind a figure through
`visible(user, Case)`. The evaluation records themselves are listed only to people acting for
the whole city (the admin). Leaders and shift leaders read evaluation; leaders publish and
recompute (an audited action); the system administrator maintains the scoring configuration.
"""

from chengguan.core.permissions import Policy, grant, register
from chengguan.org.choices import Role

from .models import (
    DailyCounter,
    DailyGauge,
    FoldCursor,
    GradeCutoff,
    GradeScale,
    Rollup,
    RollupCounter,
    ScoreBand,
    ScoreScheme,
    ScoreWeight,
    SettledDay,
    Snapshot,
    SnapshotCase,
    SnapshotFigure,
    SnapshotScore,
)

for model in (
    DailyCounter,
    DailyGauge,
    FoldCursor,
    SettledDay,
    Rollup,
    RollupCounter,
    Snapshot,
    SnapshotFigure,
    SnapshotScore,
    SnapshotCase,
):
    register(model, Policy(citywide_only=True))
CONFIG = (ScoreScheme, ScoreWeight, ScoreBand, GradeScale, GradeCutoff)
for model in CONFIG:
    register(model, Policy(global_read=True))

READ = {"evaluation.view_snapshot", "evaluation.view_snapshotfigure", "evaluation.view_snapshotscore"}
READ_CONFIG = {f"evaluation.view_{m._meta.model_name}" for m in CONFIG}
for role in (Role.LEADER, Role.SHIFT_LEADER):
    grant(role, READ | READ_CONFIG)
grant(Role.LEADER, {"evaluation.publish_snapshot", "evaluation.recompute_snapshot"})
grant(
    Role.SYSTEM_ADMIN,
    READ_CONFIG
    | {f"evaluation.{a}_{m._meta.model_name}" for m in CONFIG for a in ("add", "change", "delete")}
    | {"evaluation.view_settledday", "evaluation.view_snapshot"},
)
