from __future__ import annotations

import math

from gigawatt.sim.engine import Engine


def test_events_run_in_time_then_schedule_order():
    e = Engine()
    seen: list[str] = []
    e.at(2.0, seen.append, "b")
    e.at(1.0, seen.append, "a")
    e.at(2.0, seen.append, "c")
    e.run()
    assert seen == ["a", "b", "c"]
    assert e.processed == 3 and e.now == 2.0


def test_run_until_stops_and_sets_clock():
    e = Engine()
    seen: list[float] = []
    for t in (1.0, 5.0, 9.0):
        e.at(t, lambda _, t=t: seen.append(t))
    e.run(until=5.0)
    assert seen == [1.0, 5.0] and e.now == 5.0
    assert e.peek() == 9.0
    e.run()
    assert seen == [1.0, 5.0, 9.0] and e.peek() == math.inf


def test_step_and_after():
    e = Engine()
    out: list[float] = []

    def tick(n: int) -> None:
        out.append(e.now)
        if n:
            e.after(0.5, tick, n - 1)

    e.at(0.0, tick, 3)
    while e.step():
        pass
    assert out == [0.0, 0.5, 1.0, 1.5]


def test_past_times_are_clamped_to_now():
    e = Engine()
    e.at(3.0, lambda _: e.at(1.0, lambda _: None))
    e.run()
    assert e.now == 3.0
