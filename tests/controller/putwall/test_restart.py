"""A controller restart keeps what the wall holds: its puts, cubbies and their stops."""

from __future__ import annotations

from tests.controller.line.helpers import until
from tests.controller.putwall.rig import lit, wall_rig


async def test_a_restart_keeps_what_the_wall_holds(tmp_path) -> None:
    async with wall_rig(tmp_path) as first:
        await first.scan("P1")
        node = await until(lambda: lit(first.bank), 5)
        first.bank.press(node)
        await until(lambda: "P1" in first.line.putwall.units["W1"].wall.put, 5)
        await first.line.journal.barrier()

    async with wall_rig(tmp_path) as second:
        wall = second.line.putwall.units["W1"].wall
        cubby = wall.cubbies[wall.put["P1"]]
        assert cubby.parcels == ["P1"] and cubby.group == ("A", 1, "")
        assert cubby.node == node

        await second.scan("P1")
        await until(lambda: wall.counts.get("duplicate") == 1, 5)
        await second.scan("P2")  # the stop's cubby from before the restart
        assert await until(lambda: lit(second.bank), 5) == node
        second.bank.press(node)
        await until(lambda: wall.counts.get("stop_complete") == 1, 5)
        containers = second.line.putwall.closeout.containers
        container = await until(lambda: next(iter(containers.values()), None), 5)
        assert container.parcels == ["P1", "P2"]
