"""The plan report's charts say what they show: year axes, one colour per category, time runs forward."""

from __future__ import annotations

from plan_helpers import inference, offer, scenario

from gigawatt.plan import plan
from gigawatt.report.plan_report import SPEND_PARTS, cost_breakdown_figure, security_figure, spend_figure


def solved():
    return plan(scenario(horizon={"start": "2026Q1", "end": "2027Q4"}, policy={"n_minus_1_alpha": 0.5},
                         cloud_offers=[offer("a", 2.0), offer("b", 3.0, provider="cloud2")],
                         demand={"inference": [inference(ef=1.0, util=0.5)]}))


def test_spend_chart_has_whole_years_and_the_pie_uses_the_bars_colours():
    p = solved()
    bars = spend_figure(p).data[: len(SPEND_PARTS)]
    assert list(bars[0].x) == ["2026", "2027"]
    pie = cost_breakdown_figure(p).data[0]
    assert [b.marker.color for b in bars] == list(pie.marker.colors)
    assert [b.name for b in bars] == list(pie.labels)


def test_n_minus_1_lines_run_forward_in_time():
    for line in security_figure(solved()).data:
        if line.x is not None and len(line.x) > 1:
            assert list(line.x) == sorted(line.x)
