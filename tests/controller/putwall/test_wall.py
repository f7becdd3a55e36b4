"""The put wall's state machine: every rule of the module docstring, and hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.putwall.wall import COMPLETE, PENDING, WRONG, PutWall, WallParcel, container_ids

TRUCK = "T1"


def parcel(
    pid: str, stop: int = 1, route: str = "R1", truck: str = TRUCK, who: str = ""
) -> WallParcel:
    return WallParcel(pid, truck, route, stop, who)


def make_wall(cubbies: int = 4, capacity: int = 3, by_consignee: bool = False) -> PutWall:
    return PutWall(
        "W1",
        {f"W1-{i:02d}": i for i in range(1, cubbies + 1)},
        capacity=capacity,
        by_consignee=by_consignee,
        serves=lambda p: p.truck == TRUCK,
        new_container_id=container_ids("C"),
        confirm_timeout_s=30,
    )


def test_scan_lights_the_cubby_and_confirm_puts_once() -> None:
    wall = make_wall()
    wall.expect([parcel("P1"), parcel("P2")])
    step = wall.scan("P1", parcel("P1"), 0)
    assert step.lights[-1].colour is PENDING and step.lights[-1].value == 1
    node = step.lights[-1].node
    step = wall.press(node, "confirm", 1)
    assert step.kinds() == ["put"]
    assert step.records[0].container_id == "C-0001"
    assert wall.scan("P1", parcel("P1"), 2).kinds() == ["duplicate"]
    assert wall.put == {"P1": "W1-01"}


def test_wrong_press_records_nothing_and_flashes_the_right_cubby() -> None:
    wall = make_wall()
    wall.scan("P1", parcel("P1"), 0)
    step = wall.press(3, "confirm", 1)
    assert step.kinds() == ["wrong_put"]
    assert step.lights[0].node == 3 and step.lights[0].colour is WRONG
    assert step.lights[1].node == 1 and step.lights[1].flash
    assert wall.put == {} and wall.pending is not None
    assert wall.press(1, "confirm", 2).kinds() == ["put"]


def test_other_truck_and_unknown_go_to_the_exception_cage() -> None:
    wall = make_wall()
    step = wall.scan("X", None, 0)
    assert step.kinds() == ["exception"] and step.records[0].reason == "unknown parcel"
    step = wall.scan("P9", parcel("P9", truck="T2"), 0)
    assert step.kinds() == ["exception"] and "truck T2" in step.records[0].reason
    assert not step.lights


def test_full_cubby_closes_and_the_stop_goes_on_in_the_next_cubby() -> None:
    wall = make_wall(capacity=2)
    wall.expect([parcel(f"P{i}") for i in range(4)])
    for i in range(2):
        wall.scan(f"P{i}", parcel(f"P{i}"), i)
        step = wall.press(1, "confirm", i)
    assert step.kinds() == ["put", "container_closed"]
    assert step.records[1].parcels == ("P0", "P1")
    step = wall.scan("P2", parcel("P2"), 5)
    assert step.lights[-1].node == 2
    wall.press(2, "confirm", 6)
    step = wall.container_left("C-0001")
    assert [(light.node, light.colour) for light in step.lights] == [(1, None)]
    assert not wall.cubbies["W1-01"].full and wall.cubbies["W1-01"].parcels == []


def test_stop_complete_when_every_parcel_is_put_or_accounted() -> None:
    wall = make_wall()
    wall.expect([parcel("P1"), parcel("P2"), parcel("P3", stop=2)])
    wall.scan("P1", parcel("P1"), 0)
    wall.press(1, "confirm", 0)
    step = wall.account("P2", "rejected", wall.group_of(parcel("P2")))
    assert step.kinds() == ["stop_complete", "container_closed"]
    assert step.lights[-1].colour is COMPLETE
    assert wall.counts["stop_complete"] == 1


def test_shortage_marks_the_parcel_short() -> None:
    wall = make_wall()
    wall.expect([parcel("P1")])
    wall.scan("P1", parcel("P1"), 0)
    step = wall.press(1, "shortage", 0)
    assert step.kinds() == ["short", "stop_complete"]
    assert wall.accounted == {"P1": "short"}


def test_idle_press_and_timeout() -> None:
    wall = make_wall()
    assert wall.press(2, "confirm", 0).kinds() == ["idle_press"]
    wall.scan("P1", parcel("P1"), 0)
    assert wall.tick(10).kinds() == []
    step = wall.tick(31)
    assert step.kinds() == ["abandoned"] and step.lights[-1].colour is None
    assert wall.press(1, "confirm", 32).kinds() == ["idle_press"]


def test_module_offline_moves_the_waiting_put() -> None:
    wall = make_wall()
    wall.scan("P1", parcel("P1"), 0)
    step = wall.module_offline(1)
    assert step.kinds() == ["module_offline"]
    assert step.lights[-1].node == 2 and step.lights[-1].colour is PENDING
    assert wall.press(2, "confirm", 1).kinds() == ["put"]
    wall.scan("P2", parcel("P2", stop=2), 2)
    assert wall.pending is not None and wall.pending.cubby.node == 3


def test_consolidation_groups_by_consignee() -> None:
    wall = make_wall(by_consignee=True)
    a = wall.scan("P1", parcel("P1", who="Acme"), 0).lights[-1].node
    wall.press(a, "confirm", 0)
    b = wall.scan("P2", parcel("P2", who="Bolt"), 0).lights[-1].node
    assert a != b


codes = st.sampled_from([f"P{i}" for i in range(8)] + ["X"])
actions = st.lists(
    st.one_of(
        st.tuples(st.just("scan"), codes),
        st.tuples(st.just("press"), st.integers(1, 5), st.sampled_from(["confirm", "shortage"])),
        st.tuples(st.just("tick")),
        st.tuples(st.just("offline"), st.integers(1, 4)),
        st.tuples(st.just("online"), st.integers(1, 4)),
        st.tuples(st.just("leave")),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(actions)
def test_no_sequence_records_a_parcel_twice_or_loses_one(seq: list[tuple]) -> None:
    wall = make_wall(cubbies=4, capacity=2)
    manifest = {
        f"P{i}": parcel(f"P{i}", stop=i % 3, truck=TRUCK if i < 7 else "T2") for i in range(8)
    }
    wall.expect(p for p in manifest.values() if p.truck == TRUCK)
    puts: list[str] = []
    closed: dict[str, tuple[str, ...]] = {}
    now = 0.0
    for action in seq:
        now += 5
        if action[0] == "scan":
            step = wall.scan(action[1], manifest.get(action[1]), now)
        elif action[0] == "press":
            step = wall.press(action[1], action[2], now)
        elif action[0] == "tick":
            step = wall.tick(now + 100)
        elif action[0] == "offline":
            step = wall.module_offline(action[1])
        elif action[0] == "online":
            step = wall.module_online(action[1])
        else:
            step = next((wall.container_left(c) for c in closed), None) or wall.tick(now)
        for record in step.records:
            if record.kind == "put":
                puts.append(record.parcel_id)
            if record.kind == "container_closed":
                assert record.container_id not in closed
                closed[record.container_id] = record.parcels
    assert len(puts) == len(set(puts)), "a parcel recorded twice"
    assert set(puts) == set(wall.put)
    assert all(manifest[p].truck == TRUCK for p in puts)
    in_containers = [p for ps in closed.values() for p in ps]
    in_cubbies = [p for c in wall.cubbies.values() if not c.full for p in c.parcels]
    assert sorted(in_containers + in_cubbies) == sorted(puts), "a put parcel is nowhere"
    assert all(p not in wall.accounted for p in puts)
