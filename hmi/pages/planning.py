"""Planning: the route plan in force, the newest sort-plan proposal and what it would change.

The TMS's route plan (trucks at dock doors, their routes), the re-planner's newest
proposal (why it was made, its figures in plain words, the routes it moves, the sort
plan now and proposed side by side per chute, coloured by truck) and why the last
attempt to plan failed. Supervisors propose a plan now, and apply or discard a pending
proposal (each confirmed, audited by the line as ``plan.propose/apply/discard``);
viewers see the page without those buttons. The page redraws when the proposal, the
sort plan or the route plan changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from nicegui import ui

from controller.errors import ControllerError, SortPlanError
from controller.line import chute_routes
from controller.routeplan import RoutePlan
from hmi.context import Hmi, action, plain
from hmi.layout import GREEN, ORANGE, VERMILLION, columns, confirm, set_text, truck_colour
from hmi.sessions import Session

NO_ROUTE_PLAN = "No route plan yet: the TMS sends one with PUT /api/v1/route-plan."

#: A proposal's state: (colour, what it means).
STATE_LOOK = {
    "pending": (ORANGE, "waiting for a supervisor to apply or discard it"),
    "applied": (GREEN, "applied"),
    "discarded": ("#8a8f98", "discarded"),
    "superseded": ("#8a8f98", "superseded: a newer proposal or plan replaced it"),
    "unchanged": (GREEN, "no route moves: the plan in force stands for the new volumes"),
}

STATUS_WORDS = {
    "optimal": "optimal: the busiest chute is at the proven lower bound",
    "feasible": "feasible: a valid plan, not proven the most balanced",
    "fallback": "fallback: the time limit cut the search; a valid simple plan",
}


def refusal(err: ControllerError) -> str:
    """A refusal in plain words (a sort-plan error's reasons without their field names)."""
    if isinstance(err, SortPlanError) and err.problems:
        text = "; ".join(err.problems.values())
        return text[0].upper() + text[1:]
    return plain(err)


def chutes_text(chutes: Sequence[int] | None) -> str:
    """A route's chutes in words (``1, 2``; ``none``)."""
    return ", ".join(map(str, chutes)) if chutes else "none"


def figure_rows(figures: Mapping[str, Any]) -> list[dict[str, str]]:
    """The optimiser's figures as (figure, value) rows in plain words."""

    def number(key: str) -> str:
        value = figures.get(key)
        return "–" if value is None else f"{value:g}"

    spread = figures.get("span_excess") or {}
    gap = figures.get("gap")
    rows = [
        ("Busiest chute", f"{number('busiest_load')} parcels"),
        ("Mean chute", f"{number('mean_load')} parcels"),
        ("Best possible busiest chute (proven lower bound)", f"{number('lower_bound')} parcels"),
        ("Gap to the lower bound", "–" if gap is None else f"{gap * 100:.1f} %"),
        (
            "Chutes per route",
            f"mean {number('chutes_per_route_mean')}, most {number('chutes_per_route_max')}",
        ),
        (
            "Fewest chutes per route possible",
            f"mean {number('fewest_chutes_per_route_mean')}, "
            f"most {number('fewest_chutes_per_route_max')}",
        ),
        ("Routes moved", number("routes_moved")),
        ("Chutes over capacity", number("chutes_over_capacity")),
        (
            "Trucks whose chutes are not side by side",
            ", ".join(f"{t} ({n} between)" for t, n in sorted(spread.items())) or "none",
        ),
        ("Solve time", f"{number('solve_time_s')} s"),
        ("Result", STATUS_WORDS.get(str(figures.get("status")), str(figures.get("status")))),
    ]
    return [{"figure": f, "value": v} for f, v in rows]


def by_chute(plan: Mapping[str, Sequence[int]]) -> dict[int, list[str]]:
    """Chute -> its routes, of a plan route -> chutes."""
    routes: dict[int, list[str]] = {}
    for route, chutes in plan.items():
        for chute in chutes:
            routes.setdefault(chute, []).append(route)
    return routes


def route_tags(routes: Sequence[str], colour_of: Callable[[str], str | None]) -> str:
    """Routes as tags in their truck's colour (plain text for a route without a truck)."""
    if not routes:
        return '<span class="opacity-70">none</span>'
    tags = []
    for route in sorted(routes):
        colour = colour_of(route)
        style = f"background:{colour}" if colour else "background:#3a3f47;color:#eef1f4"
        tags.append(f'<span class="ls-truck-tag mr-1" style="{style}">{escape(route)}</span>')
    return "".join(tags)


def compare_html(
    chutes: Sequence[int],
    now: Mapping[int, Sequence[str]],
    proposed: Mapping[int, Sequence[str]],
    colour_of: Callable[[str], str | None],
) -> str:
    """Per chute: its routes now and proposed; a changed row is highlighted and says so."""
    rows = []
    for chute in chutes:
        before, after = sorted(now.get(chute, ())), sorted(proposed.get(chute, ()))
        changed = before != after
        style = f"background:#3d3420;border-left:6px solid {ORANGE}" if changed else ""
        rows.append(
            f'<tr data-testid="compare-{chute}" data-changed="{str(changed).lower()}" '
            f'style="{style}"><td class="px-2 py-1 font-bold">{chute}</td>'
            f'<td class="px-2 py-1">{route_tags(before, colour_of)}</td>'
            f'<td class="px-2 py-1">{route_tags(after, colour_of)}</td>'
            f'<td class="px-2 py-1 font-bold">{"changes" if changed else ""}</td></tr>'
        )
    return (
        '<table class="w-full text-left" data-testid="chute-compare"><thead><tr>'
        '<th class="px-2">Chute</th><th class="px-2">Routes now</th>'
        '<th class="px-2">Routes proposed</th><th class="px-2"></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "–"


def _clock(epoch: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(epoch)) if epoch is not None else ""


def build(hmi: Hmi, session: Session) -> None:
    """The planning page's content."""
    line = hmi.line
    replanner = line.replanner

    with ui.row().classes("w-full items-center gap-4"):
        ui.label("Planning").classes("text-3xl font-bold")
        plan_version = ui.label().classes("text-xl").props('data-testid="plan-version"')
        plan_version.mark("plan-version")
        policy = ui.label().classes("text-lg opacity-90").props('data-testid="replan-policy"')
        ui.space()
        if session.may_act:
            spinner = ui.spinner(size="lg")
            spinner.set_visibility(False)
            working = ui.label().classes("text-lg").props('data-testid="propose-status"')
            working.mark("propose-status")
            propose = ui.button("Propose now", icon="auto_fix_high").classes("ls-touch")
            propose.props('color=primary data-testid="propose-now"').mark("propose-now")
        else:
            ui.label("Supervisors propose and apply plans; you are logged in as a viewer.")

    def colour_of(route: str) -> str | None:
        route_plan = line.route_plan.active
        index = {t.id: i for i, t in enumerate(route_plan.trucks)}
        truck = route_plan.truck_of(route)
        return truck_colour(index.get(truck)) if truck is not None else None

    dialogs = ui.element("div")  # the confirmations: outside what a redraw deletes
    decisions = Decisions(hmi, dialogs, lambda: refresh())

    @ui.refreshable
    def content() -> None:
        route_plan = line.route_plan.active
        if replanner.error:
            error = ui.label(f"The last planning attempt failed: {replanner.error}")
            error.classes("text-lg font-bold w-full px-3 py-2 rounded")
            error.style(f"background:{VERMILLION};color:#fff")
            error.props('data-testid="replan-error"').mark("replan-error")
        with ui.row().classes("w-full gap-3 items-start no-wrap"):
            with ui.column().classes("ls-panel gap-2").style("min-width:340px;max-width:420px"):
                _route_plan_panel(route_plan)
            with ui.column().classes("ls-panel gap-2 grow"):
                _proposal_panel(hmi, session, colour_of, decisions)

    content()

    def signature() -> tuple:
        proposal = replanner.proposal
        return (
            line.route_plan.active.version,
            line.plan.version,
            None if proposal is None else (proposal.id, proposal.state),
            replanner.error,
        )

    seen = [signature()]

    def refresh() -> None:
        set_text(plan_version, f"Sort plan version {line.plan.version}")
        settings = replanner.settings
        if not settings.enabled:
            words = "Re-planning is off (replanning.enabled: false in the line config)"
        elif settings.policy == "auto":
            words = "Policy: auto (the line applies each proposal at once)"
        else:
            words = "Policy: manual (a supervisor applies each proposal)"
        set_text(policy, words)
        now = signature()
        if now != seen[0]:
            seen[0] = now
            content.refresh()

    refresh()
    ui.timer(1.0, refresh)

    if session.may_act:

        async def run_proposal(who: Session) -> None:
            propose.disable()
            spinner.set_visibility(True)
            set_text(working, "planning…")
            try:
                proposal = await line.propose_plan(who.actor)
            except ControllerError as err:
                set_text(working, f"No proposal: {refusal(err)}")
                ui.notify(refusal(err), type="negative", multi_line=True, timeout=8000)
                return
            finally:
                spinner.set_visibility(False)
                propose.enable()
                refresh()
            moved = len(proposal.moves)
            set_text(working, f"Proposal {proposal.id}: {moved} routes move")
            ui.notify(f"Proposal {proposal.id} made: {moved} routes move", type="positive")

        propose.on_click(action(hmi, run_proposal))


def _route_plan_panel(route_plan: RoutePlan) -> None:
    ui.label("Route plan in force").classes("ls-kpi-label")
    if route_plan.version == 0:
        ui.label(NO_ROUTE_PLAN).classes("text-lg").props('data-testid="no-route-plan"')
        return
    ui.label(f"Version {route_plan.version}").classes("text-2xl font-bold").props(
        'data-testid="route-plan-version"'
    )
    ui.label(
        f"from {route_plan.actor or '?'} at {_when(route_plan.time)}"
        + (f" · {route_plan.reason}" if route_plan.reason else "")
    ).classes("text-base opacity-80")
    rows = []
    for i, truck in enumerate(route_plan.trucks):
        times = " → ".join(t for t in (_clock(truck.arrival), _clock(truck.departure)) if t)
        routes = ", ".join(route_plan.routes_of(truck.id)) or "no routes"
        rows.append(
            f'<div class="row items-center no-wrap gap-2" data-testid="truck-{escape(truck.id)}">'
            f'<span class="ls-truck-tag" style="background:{truck_colour(i)}">'
            f"{escape(truck.id)}</span><span>door {escape(truck.door)} · "
            f"routes {escape(routes)}" + (f" · {escape(times)}" if times else "") + "</span></div>"
        )
    ui.html("".join(rows), sanitize=False).classes("column gap-1 text-lg").props(
        'data-testid="route-plan-trucks"'
    )


def _proposal_panel(
    hmi: Hmi, session: Session, colour_of: Callable[[str], str | None], decisions: Decisions
) -> None:
    line = hmi.line
    proposal = line.replanner.proposal
    ui.label("Newest proposal").classes("ls-kpi-label")
    if proposal is None:
        ui.label(
            "No proposal yet: the line proposes a plan when a route plan arrives or a chute "
            "stays out of service" + (", or press Propose now." if session.may_act else ".")
        ).classes("text-lg").props('data-testid="no-proposal"')
        return
    colour, meaning = STATE_LOOK.get(proposal.state, ("#8a8f98", proposal.state))
    if proposal.state == "applied":
        meaning = f"applied by {proposal.decided_by}: sort plan version {proposal.version}"
    elif proposal.state == "discarded":
        meaning = f"discarded by {proposal.decided_by}"
    with ui.row().classes("items-center gap-3"):
        ui.label(f"Proposal {proposal.id}").classes("text-2xl font-bold")
        ui.label(proposal.state.upper()).classes("text-lg font-bold px-3 rounded").style(
            f"background:{colour};color:#111"
        )
        ui.label(meaning).classes("text-lg").props('data-testid="proposal-state"').mark(
            "proposal-state"
        )
    kind = "a fresh plan for a new route plan" if proposal.mode == "fresh" else "a repair"
    ui.label(
        f"Why: {proposal.trigger} · {kind} · made {_when(proposal.created)} "
        f"from sort plan version {proposal.base_version}"
    ).classes("text-lg").props('data-testid="proposal-why"')

    if session.may_act and proposal.state == "pending":
        decisions.buttons(proposal.id, len(proposal.moves), proposal.base_version)

    with ui.row().classes("w-full gap-3 items-start"):
        with ui.column().classes("gap-1").style("min-width:420px"):
            ui.label("Figures").classes("ls-kpi-label")
            figures = ui.table(
                columns=columns(figure="Figure", value="Value"),
                rows=figure_rows(proposal.figures),
                row_key="figure",
            ).classes("w-full")
            figures.props('dense hide-header data-testid="proposal-figures"').mark(
                "proposal-figures"
            )
        with ui.column().classes("gap-1 grow"):
            ui.label(f"Routes that move ({len(proposal.moves)})").classes("ls-kpi-label")
            route_plan = line.route_plan.active
            moves = ui.table(
                columns=columns(route="Route", truck="Truck", change="Chutes before → after"),
                rows=[
                    {
                        "route": route,
                        "truck": route_plan.truck_of(route) or "–",
                        "change": f"{chutes_text(m.get('before'))} → {chutes_text(m.get('after'))}",
                    }
                    for route, m in sorted(proposal.moves.items())
                ],
                row_key="route",
            ).classes("w-full")
            moves.props('dense data-testid="proposal-moves" no-data-label="No route moves"')
            moves.mark("proposal-moves")
    ui.label("Chutes: the sort plan now and proposed").classes("ls-kpi-label mt-2")
    topo = line.config.topology
    chutes = [c.id for c in sorted(topo.chutes, key=lambda c: c.position_mm)]
    ui.html(
        compare_html(chutes, chute_routes(line.plan), by_chute(proposal.plan), colour_of),
        sanitize=False,
    ).classes("w-full text-lg").mark("chute-compare")


class Decisions:
    """Apply and Discard of a pending proposal, each confirmed, then ``done()`` (the
    page's refresh). The dialogs open in ``dialogs``, outside the part of the page that
    a redraw deletes, so a handler never outlives its own element."""

    def __init__(self, hmi: Hmi, dialogs: ui.element, done: Callable[[], None]):
        self.hmi = hmi
        self.dialogs = dialogs
        self.done = done

    def buttons(self, proposal_id: int, moved: int, base_version: int) -> None:
        """The two buttons of proposal ``proposal_id`` (made from ``base_version``)."""
        hmi, line = self.hmi, self.hmi.line

        async def apply(who: Session) -> None:
            try:
                version = await line.apply_proposal(proposal_id, who.actor)
            except SortPlanError as err:
                ui.notify(refusal(err), type="negative", multi_line=True, timeout=8000)
                self.done()
                return
            hmi.feed.refresh_now()
            self.done()
            ui.notify(
                f"Proposal {proposal_id} applied: sort plan version {version.version}",
                type="positive",
            )

        async def discard(who: Session) -> None:
            try:
                line.discard_proposal(proposal_id, who.actor)
            except SortPlanError as err:
                ui.notify(refusal(err), type="negative", multi_line=True, timeout=8000)
                self.done()
                return
            self.done()
            ui.notify(f"Proposal {proposal_id} discarded; the sort plan stays", type="positive")

        def ask_apply() -> None:
            now = line.plan.version
            if base_version != now:
                detail = (
                    f"the sort plan changed since it was made (from version {base_version}, "
                    f"the plan is at {now}): the line will refuse it; propose again."
                )
            else:
                detail = f"{moved} routes move; the sort plan becomes version {now + 1}."
            self.dialogs.clear()
            with self.dialogs:
                confirm(
                    f"Apply proposal {proposal_id}?",
                    f"Apply proposal {proposal_id}: {detail}",
                    action(hmi, apply),
                    "Apply",
                )

        def ask_discard() -> None:
            self.dialogs.clear()
            with self.dialogs:
                confirm(
                    f"Discard proposal {proposal_id}?",
                    f"The sort plan stays at version {line.plan.version}; this proposal's "
                    "cause is not proposed again until the next plan.",
                    action(hmi, discard),
                    "Discard",
                )

        with ui.row().classes("gap-3"):
            ui.button("Apply", icon="check", on_click=ask_apply).props(
                'color=positive data-testid="proposal-apply"'
            ).classes("ls-touch").mark("proposal-apply")
            ui.button("Discard", icon="delete", on_click=ask_discard).props(
                'color=warning data-testid="proposal-discard"'
            ).classes("ls-touch").mark("proposal-discard")
