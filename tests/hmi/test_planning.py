"""The planning page, the trucks on the line view and shared chutes, through the simulated user.

The test line gets two dock doors; a route plan puts routes A and B on truck T1 at door
D2 and route C on truck T2 at door D1, and the line proposes a fresh sort plan for it by
itself (the optimiser runs in the planning worker process, spawned on first use).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nicegui import ui

from hmi.pages.planning import NO_ROUTE_PLAN
from tests.controller.line.helpers import until
from tests.hmi.conftest import HmiEnv, hmi_line, log_in

DOORS = [{"id": "D1", "position_mm": 800}, {"id": "D2", "position_mm": 1000}]
ROUTE_PLAN = {
    "trucks": [{"id": "T1", "door": "D2"}, {"id": "T2", "door": "D1"}],
    "routes": [
        {"id": "A", "truck": "T1", "stops": [{"sequence": 1}]},
        {"id": "B", "truck": "T1", "stops": [{"sequence": 1}]},
        {"id": "C", "truck": "T2", "stops": [{"sequence": 1}]},
    ],
}


@pytest.fixture
async def docks_env(tmp_path) -> AsyncIterator[HmiEnv]:
    async with hmi_line(tmp_path, topology={"doors": DOORS}) as env:
        yield env


async def _route_plan_and_proposal(env: HmiEnv):
    """Send the route plan as the TMS does; the line's own fresh proposal."""
    line = env.line
    await line.route_plan.replace(ROUTE_PLAN, "tms", "tms", "test")
    return await until(
        lambda: (p := line.replanner.proposal) is not None and p.state == "pending" and p,
        within=30,
    )


def _table_rows(user, marker: str) -> list[dict]:
    (table,) = user.find(marker=marker).elements
    assert isinstance(table, ui.table)
    return table.rows


def _compare(user) -> str:
    (html,) = user.find(marker="chute-compare").elements
    return html.content


async def test_a_viewer_sees_the_proposal_without_the_buttons(docks_env):
    proposal = await _route_plan_and_proposal(docks_env)
    user = docks_env.new_user()
    await log_in(user, "victor")
    await user.open("/planning")
    await user.should_see(f"Proposal {proposal.id}", retries=50)
    await user.should_see("waiting for a supervisor", retries=30)
    await user.should_see("you are logged in as a viewer", retries=30)
    for marker in ("propose-now", "proposal-apply", "proposal-discard"):
        await user.should_not_see(marker=marker, retries=5)


async def test_without_a_route_plan_proposing_is_refused_in_plain_words(hmi_env):
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/planning")
    await user.should_see(NO_ROUTE_PLAN, retries=30)
    await user.should_see("No proposal yet", retries=30)
    await user.should_see("Policy: manual", retries=30)
    user.find(marker="propose-now").click()
    await user.should_see(
        "No proposal: No route plan yet: the TMS sends trucks and routes first", retries=50
    )
    await hmi_env.line.journal.barrier()
    rows = await hmi_env.line.audit.query(action="plan.propose")
    assert rows[0]["user"] == "anna" and rows[0]["ok"] is False


async def test_a_fresh_proposal_is_shown_and_applied_after_confirmation(docks_env):
    line = docks_env.line
    user = docks_env.new_user()
    await log_in(user, "anna")
    await user.open("/planning")
    await user.should_see(NO_ROUTE_PLAN, retries=30)
    proposal = await _route_plan_and_proposal(docks_env)
    # the page follows by itself: the route plan, then the proposal
    await user.should_see("Version 1", retries=50)
    await user.should_see(f"Proposal {proposal.id}", retries=50)
    await user.should_see("Why: route plan version 1", retries=30)
    await user.should_see("a fresh plan for a new route plan", retries=30)
    figures = {r["figure"]: r["value"] for r in _table_rows(user, "proposal-figures")}
    assert figures["Routes moved"] == str(proposal.figures["routes_moved"])
    assert figures["Gap to the lower bound"] == f"{proposal.figures['gap'] * 100:.1f} %"
    assert figures["Result"].startswith(proposal.figures["status"])
    moves = _table_rows(user, "proposal-moves")
    assert [r["route"] for r in moves] == sorted(proposal.moves)
    compare = _compare(user)
    now = line.plan.as_dict()
    for chute in (1, 2, 3):
        before = sorted(r for r, cs in now.items() if chute in cs)
        after = sorted(r for r, cs in proposal.plan.items() if chute in cs)
        changed = "true" if before != after else "false"
        assert f'data-testid="compare-{chute}" data-changed="{changed}"' in compare
    assert "#CC79A7" in compare  # T1's routes in the first truck's colour

    version = line.plan.version
    user.find(marker="proposal-apply").click()
    await user.should_see(
        f"Apply proposal {proposal.id}: {len(proposal.moves)} routes move; "
        f"the sort plan becomes version {version + 1}.",
        retries=30,
    )
    assert line.plan.version == version  # nothing before the confirmation
    user.find(marker="confirm-yes").click()
    await until(lambda: line.plan.version == version + 1, 10)
    assert line.plan.as_dict() == proposal.plan
    await user.should_see(f"applied by anna: sort plan version {version + 1}", retries=50)
    await user.should_see(f"Sort plan version {version + 1}", retries=30)
    await user.should_not_see(marker="proposal-apply", retries=30)
    await line.journal.barrier()
    rows = await line.audit.query(action="plan.apply")
    assert rows[0]["user"] == "anna" and rows[0]["ok"] is True
    assert rows[0]["target"] == f"proposal {proposal.id}"


async def test_discarding_a_proposal_leaves_the_plan(docks_env):
    line = docks_env.line
    proposal = await _route_plan_and_proposal(docks_env)
    plan, version = line.plan.as_dict(), line.plan.version
    user = docks_env.new_user()
    await log_in(user, "anna")
    await user.open("/planning")
    await user.should_see(f"Proposal {proposal.id}", retries=50)
    user.find(marker="proposal-discard").click()
    await user.should_see(f"Discard proposal {proposal.id}?", retries=30)
    user.find(marker="confirm-yes").click()
    await until(lambda: line.replanner.proposal.state == "discarded", 10)
    await user.should_see("discarded by anna", retries=50)
    assert line.plan.as_dict() == plan and line.plan.version == version
    await line.journal.barrier()
    rows = await line.audit.query(action="plan.discard")
    assert rows[0]["user"] == "anna" and rows[0]["target"] == f"proposal {proposal.id}"


async def test_a_stale_proposal_is_refused_in_plain_words(docks_env):
    line = docks_env.line
    proposal = await _route_plan_and_proposal(docks_env)
    user = docks_env.new_user()
    await log_in(user, "anna")
    await user.open("/planning")
    await user.should_see(f"Proposal {proposal.id}", retries=50)
    user.find(marker="proposal-apply").click()
    await user.should_see(f"Apply proposal {proposal.id}?", retries=30)
    # meanwhile someone edits the sort plan by hand
    await line.plan_service.patch({"A": [1, 2]}, "someone", "supervisor", "by hand")
    stale = line.plan.as_dict()
    user.find(marker="confirm-yes").click()
    await user.should_see("propose again", retries=50)
    await user.should_see("superseded", retries=50)
    assert line.plan.as_dict() == stale


async def test_the_line_view_shows_the_doors_and_the_trucks(docks_env):
    await _route_plan_and_proposal(docks_env)
    user = docks_env.new_user()
    await log_in(user, "victor")
    await user.open("/line")
    await user.should_see("T1 · D2", retries=50)  # the legend
    await user.should_see("T2 · D1", retries=30)
    (doors,) = user.find(kind=ui.html, content='data-testid="door-D1"').elements
    assert 'data-testid="door-D2"' in doors.content
    at_d1 = doors.content.split('data-testid="door-D1"')[1].split('data-testid="door-')[0]
    assert ">T2</span>" in at_d1 and ">T1</span>" not in at_d1
    # chute 1 carries route A of T1 (the first truck's colour), chute 3 route C of T2
    await user.should_see('data-testid="chute-1-truck" style="background:#CC79A7">T1', retries=30)
    await user.should_see('data-testid="chute-3-truck"', retries=30)
    await user.should_see("JAM", retries=5)  # the state key is still there


async def test_a_chute_takes_a_second_route_of_its_truck_but_not_another_trucks(docks_env):
    line = docks_env.line
    await _route_plan_and_proposal(docks_env)
    user = docks_env.new_user()
    await log_in(user, "anna")
    await user.open("/chutes/1")
    await user.should_see("route A (truck T1)", retries=50)
    user.find("Move a route here").click()
    await user.should_see("Move a route to chute 1", retries=30)
    user.find(kind=ui.select).elements.pop().set_value("B")
    user.find(marker="move-route-apply").click()
    await until(lambda: line.plan.as_dict()["B"] == [1], 10)
    await user.should_see("routes A, B (truck T1)", retries=50)
    await user.open("/chutes/1")  # a new page: the closed dialog's buttons are gone
    user.find("Move a route here").click()
    await user.should_see("Move a route to chute 1", retries=30)
    user.find(kind=ui.select).elements.pop().set_value("C")
    user.find(marker="move-route-apply").click()
    await user.should_see("a chute never mixes trucks", retries=30)
    assert line.plan.as_dict()["C"] == [3]
