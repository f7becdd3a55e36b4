"""Whose turn at the door: last stop first, same stops together, open stops wait."""

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.transport.sequencing import Unit, turn_has_come


def test_a_truck_not_at_its_door_takes_nothing():
    assert turn_has_come([Unit("A", 3, False)], set(), docked=False) == []


def test_the_highest_stop_goes_first_and_same_stops_together():
    units = [Unit("A", 1, False), Unit("B", 5, False), Unit("C", 5, False), Unit("D", 3, False)]
    assert turn_has_come(units, set(), docked=True) == ["B", "C"]


def test_loaded_units_make_way_for_the_next_stop():
    units = [Unit("A", 1, False), Unit("B", 5, True), Unit("D", 3, False)]
    assert turn_has_come(units, set(), docked=True) == ["D"]


def test_an_open_higher_stop_holds_lower_containers_back():
    units = [Unit("A", 2, False), Unit("B", 4, False)]
    assert turn_has_come(units, {6}, docked=True) == []
    assert turn_has_come(units, {4}, docked=True) == ["B"]
    assert turn_has_come(units, {6}, docked=True, final=True) == ["B"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.booleans()), max_size=12),
    st.sets(st.integers(0, 8), max_size=3),
)
def test_loading_every_turn_in_order_never_loads_a_later_stop_after_an_earlier(spec, open_stops):
    units = {f"U{i}": Unit(f"U{i}", stop, False) for i, (stop, _) in enumerate(spec)}
    loaded: list[int] = []
    for _ in range(len(units) + 1):
        turn = turn_has_come(units.values(), open_stops, docked=True, final=True)
        if not turn:
            break
        for uid in turn:
            loaded.append(units[uid].last_stop)
            units[uid] = Unit(uid, units[uid].last_stop, True)
    assert loaded == sorted(loaded, reverse=True)
    assert all(u.loaded for u in units.values())


def test_at_departure_a_held_or_stuck_container_no_longer_holds_the_rest_back():
    units = [Unit("H", 6, False, blocks=False), Unit("A", 2, False)]
    assert turn_has_come(units, set(), docked=True) == ["H"]
    assert turn_has_come(units, set(), docked=True, final=True) == ["A"]
