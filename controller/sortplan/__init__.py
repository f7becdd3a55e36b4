"""The sort plan: which chutes carry which route, its validation, its history, its optimiser.

Owns the plan's rules (:mod:`~controller.sortplan.plan`: validation as a whole, patches,
diffs; pure) and its versions (:mod:`~controller.sortplan.history`: the active plan,
every change with who, what and why in ``sort-plan.sqlite``, restored after a restart).
The plan itself (:class:`~controller.parcels.decision.SortPlan`) is what the decision
reads.

The optimiser (:mod:`~controller.sortplan.optimiser`) makes a plan from a planning
instance (:mod:`~controller.sortplan.instance`: chutes, doors, trucks, routes and their
volumes): block sizes and the proven lower bound (:mod:`~controller.sortplan.blocks`),
routes within a block (:mod:`~controller.sortplan.fill`, CP-SAT for the hard blocks),
repairs (:mod:`~controller.sortplan.repair`), figures and rule checks
(:mod:`~controller.sortplan.figures`), seeded instances
(:mod:`~controller.sortplan.generate`) and ``lanesort plan``
(:mod:`~controller.sortplan.plan_cli`). Pure but for the CLI and the worker; CPU-bound,
so a caller on the event loop runs it in the planning worker process
(:mod:`~controller.sortplan.worker`).

May use: :mod:`controller.parcels` (the plan the decision reads), :mod:`controller.errors`.
"""

from controller.sortplan.figures import Figures, check_plan
from controller.sortplan.history import PlanVersion, SortPlanService, SortPlanStore
from controller.sortplan.instance import Instance, parse_instance
from controller.sortplan.optimiser import PlanResult, optimise
from controller.sortplan.plan import apply_patch, diff_plans, plan_hash, validate_plan

__all__ = [
    "Figures",
    "Instance",
    "PlanResult",
    "PlanVersion",
    "SortPlanService",
    "SortPlanStore",
    "apply_patch",
    "check_plan",
    "diff_plans",
    "optimise",
    "parse_instance",
    "plan_hash",
    "validate_plan",
]
