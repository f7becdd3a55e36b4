"""The PLC link's pace: fast only while a request can be pending (no sockets)."""

from __future__ import annotations

import math

import pytest

from controller.line.poll_pace import (
    LEARN_AFTER,
    MARGIN_FRACTION,
    TIMER_RESOLUTION_S,
    PollPace,
)

FAST = 0.001  # the shortest pause the event loops' timers keep
BUDGET = 0.8  # scan point -> request point: 2 m at 2.5 m/s
WINDOW = 0.2  # 500 mm of scan field at 2.5 m/s
SLACK = 0.35  # 400 ms from request to decision point, less a 50 ms decision deadline


def pace() -> PollPace:
    return PollPace(FAST, BUDGET, WINDOW, SLACK)


def test_a_pause_shorter_than_a_timer_tick_is_one_tick_and_zero_stays_zero():
    # uvloop rounds a 0.5 ms timer to none at all: the reads would go back to back
    assert PollPace(0.0005, BUDGET, WINDOW, SLACK).fast_s == TIMER_RESOLUTION_S == 0.001
    assert PollPace(0.0005, 0.0, 0.0, 0.0, idle_s=0.0005).wait(1.0) == 0.001
    assert PollPace(0.0, 0.0, 0.0, 0.0, idle_s=0.0).wait(1.0) == 0.0  # asked for: no pause
    assert PollPace(0.0025, BUDGET, WINDOW, SLACK).fast_s == 0.0025


def test_an_idle_line_reads_at_the_slow_pace():
    p = pace()
    p.on_cycle(False, 0, None)
    assert p.slow_s == pytest.approx(0.02)  # 50 reads a second: the cap, not the topology
    assert p.wait(10.0) == pytest.approx(0.02)


def test_the_slow_pace_is_a_small_share_of_a_short_scan_window_and_slack():
    # the 150,000/h demo belt: 13.2 ms of scan window, 26.4 - 13.2 ms of slack
    p = PollPace(FAST, 0.0527, 0.0132, 0.0132)
    assert p.slow_s == pytest.approx(0.0132 / 8)
    assert PollPace(FAST, 1, 1, 0.002).slow_s == FAST  # never below the fast pace


def test_fast_from_when_a_scanned_parcel_can_request_until_its_request_is_seen():
    p = pace()
    # seen at 10.02 s; it entered after the read sent at 10.0 s
    p.on_scan(7, entered_after=10.0, entered_by=10.02)
    p.on_cycle(False, 0, None)
    opens = 10.0 + BUDGET - BUDGET * 0.02
    # before the window: slow, but never sleeping past its opening
    assert p.wait(10.1) == pytest.approx(0.02)
    assert p.wait(opens - 0.005) == pytest.approx(0.005)
    assert p.wait(opens + 0.001) == FAST
    assert p.wait(10.02 + BUDGET) == FAST
    p.on_cycle(True, 1, 7)  # its request was seen (and answered)
    assert p.wait(10.83) == FAST  # the PLC still counted it as pending in that read
    p.on_cycle(False, 0, None)
    assert p.wait(10.83) == pytest.approx(0.02)
    assert p.windows == 0


def test_an_open_or_pending_request_keeps_the_pace_fast():
    p = pace()
    p.on_cycle(True, 0, 3)  # a request waiting for the readers
    assert p.wait(1.0) == FAST
    p.on_cycle(False, 2, None)  # the PLC queues two more
    assert p.wait(1.0) == FAST


def test_a_request_that_does_not_come_in_its_window_falls_back_to_the_slow_pace():
    p = pace()
    p.on_scan(7, entered_after=10.0, entered_by=10.001)
    p.on_cycle(False, 0, None)
    assert p.wait(10.8) == FAST
    # the belt stopped: past the window's end the slow pace (an eighth of the slack at
    # most) still finds the request long before the decision point
    assert p.wait(10.9) == pytest.approx(0.02)
    assert p.windows == 0


def test_a_backlog_scan_opens_no_window_pending_requests_cover_it():
    p = pace()
    p.on_scan(7, entered_after=-math.inf, entered_by=10.0)
    assert p.windows == 0


def test_answering_holds_from_the_read_that_can_bring_a_request_until_none_is_expected():
    p = pace()
    p.on_cycle(False, 0, None)
    p.wait(1.0)
    assert not p.answering  # at rest: nothing can be asked of the next read
    p.on_scan(7, entered_after=10.0, entered_by=10.02)
    opens = 10.0 + BUDGET - BUDGET * 0.02
    p.wait(10.1)
    assert not p.answering  # the window opens after the next slow read
    p.wait(opens - 0.005)
    assert p.answering  # this pause ends as the window opens: the read after it may ask
    p.wait(opens + 0.001)
    assert p.answering
    p.on_cycle(True, 0, 7)  # its request seen, still open
    p.wait(10.83)
    assert p.answering
    p.on_cycle(False, 0, None)  # answered, no other expected
    p.wait(10.83)
    assert not p.answering


def test_a_pace_that_is_never_slow_is_always_answering():
    p = PollPace(FAST, 0.0, 0.0, 0.0, idle_s=FAST)  # a driver that is not polled adaptively
    p.on_cycle(False, 0, None)
    p.wait(1.0)
    assert p.answering


def _stamped_parcels(p: PollPace, count: int, first: int = 1, delay: float = BUDGET) -> None:
    """``count`` parcels 0.1 s apart, each entering within 1.5 ms (a stamped scan) and
    requesting ``delay`` later (seen by a read 2 ms after the one before)."""
    for n in range(count):
        entered = 10.0 + 0.1 * (first + n)
        p.on_scan(first + n, entered - 0.0015, entered)
        p.on_request(first + n, entered + delay - 0.001, entered + delay + 0.001)
        p.on_cycle(True, 0, first + n)


def test_the_window_narrows_to_the_scan_to_request_times_seen_once_enough_are_known():
    p = pace()
    _stamped_parcels(p, LEARN_AFTER - 1)
    assert p.learned_s is None  # not yet: the configured window (2 % of the budget each way)
    _stamped_parcels(p, 1, first=LEARN_AFTER)
    shortest, longest = p.learned_s
    # appeared after the read before (1 ms before), entered by the stamp: 0.8 - 1 ms ...
    assert shortest == pytest.approx(BUDGET - 0.001)
    # ... seen by the read 1 ms after, entered after 1.5 ms before the stamp: 0.8 + 2.5 ms
    assert longest == pytest.approx(BUDGET + 0.0025)
    p.on_scan(99, 20.0 - 0.0015, 20.0)
    p.on_cycle(False, 0, None)
    guard = FAST + TIMER_RESOLUTION_S
    opens, closes = 20.0 - 0.0015 + shortest - guard, 20.0 + longest + guard
    assert closes - opens == pytest.approx(0.0015 + 0.0035 + 2 * guard)  # 9 ms, not 35
    assert p.wait(opens - 0.005) == pytest.approx(0.005)  # slow until it opens
    assert p.wait(opens + 0.0005) == FAST
    assert p.wait(closes - 0.0005) == FAST
    assert p.wait(closes + 0.0005) == pytest.approx(0.02)  # no request: slow again
    # the configured window would have read fast until 20 + 0.8 + 16 ms
    assert closes < 20.0 + BUDGET + BUDGET * MARGIN_FRACTION - 0.01


def test_a_request_later_than_the_learned_window_widens_the_windows_after_it():
    p = pace()
    _stamped_parcels(p, LEARN_AFTER)
    _, longest = p.learned_s
    # the belt slowed by 1 %: the next request comes 8 ms later than the learned longest
    _stamped_parcels(p, 1, first=LEARN_AFTER + 1, delay=BUDGET * 1.01)
    assert p.learned_s[1] == pytest.approx(BUDGET * 1.01 + 0.0025)
    assert p.learned_s[1] > longest + 0.007


def test_a_request_after_the_belt_stopped_is_not_learned():
    p = pace()
    _stamped_parcels(p, LEARN_AFTER)
    learned = p.learned_s
    p.on_scan(500, 30.0 - 0.0015, 30.0)
    # the belt stopped for 5 s: the request comes long after the configured window
    p.on_request(500, 35.799, 35.801)
    assert p.learned_s == learned


def test_parcels_whose_request_never_came_are_forgotten():
    p = pace()
    for n in range(100):  # the requests never come (the PLC does not ask for them)
        p.on_scan(n, 10.0 + n - 0.0015, 10.0 + n)
    assert p.expected == 1  # each older one expired before the next was scanned


def test_learning_never_widens_the_configured_window():
    # the 150,000/h stress belt: 52.7 ms from scan to request, 2 % of it is 1 ms each way
    budget = 0.0527
    p = PollPace(FAST, budget, 0.0132, 0.0132)
    margin = budget * MARGIN_FRACTION
    for n in range(LEARN_AFTER):  # requests 1 ms apart: as late as the tolerance learns
        entered = 10.0 + 0.1 * n
        late = 0.001 * (n % 2)
        p.on_scan(n, entered - 0.0015, entered)
        p.on_request(n, entered + budget - 0.001 + late, entered + budget + 0.001 + late)
        p.on_cycle(True, 0, n)
    shortest, longest = p.learned_s  # with the reads and entries: wider than the window
    assert (longest + 0.0015) - (shortest - 0.0015) > 2 * margin + 0.0015
    p.on_scan(99, 20.0 - 0.0015, 20.0)
    p.on_cycle(False, 0, None)
    opens, closes = 20.0 - 0.0015 + budget - margin, 20.0 + budget + margin
    assert p.wait(opens - 0.0002) > FAST / 2  # not fast before the configured opening
    assert p.wait(opens + 0.0002) == FAST
    assert p.wait(closes + 0.0002) == p.slow_s  # nor after its end


def test_what_a_pace_learned_carries_over_to_the_next_connections_pace():
    p = pace()
    _stamped_parcels(p, LEARN_AFTER)
    again = PollPace(FAST, BUDGET, WINDOW, SLACK, learned=p.learned_times)
    assert again.learned_s == p.learned_s  # the narrow windows at once, not after 16 more
    partly = pace()
    _stamped_parcels(partly, LEARN_AFTER - 1)
    carried = PollPace(FAST, BUDGET, WINDOW, SLACK, learned=partly.learned_times)
    assert carried.learned_s is None  # too few yet: one more request teaches it
    _stamped_parcels(carried, 1, first=LEARN_AFTER)
    assert carried.learned_s is not None
