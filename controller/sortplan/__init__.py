"""The sort plan: which chutes carry which route, its validation and its history.

Owns the plan's rules (:mod:`~controller.sortplan.plan`: validation as a whole, patches,
diffs; pure) and its versions (:mod:`~controller.sortplan.history`: the active plan,
every change with who, what and why in ``sort-plan.sqlite``, restored after a restart).
The plan itself (:class:`~controller.parcels.decision.SortPlan`) is what the decision
reads. The sort-plan optimiser lands here next.

May use: :mod:`controller.parcels` (the plan the decision reads), :mod:`controller.errors`.
"""

from controller.sortplan.history import PlanVersion, SortPlanService, SortPlanStore
from controller.sortplan.plan import apply_patch, diff_plans, plan_hash, validate_plan

__all__ = [
    "PlanVersion",
    "SortPlanService",
    "SortPlanStore",
    "apply_patch",
    "diff_plans",
    "plan_hash",
    "validate_plan",
]
