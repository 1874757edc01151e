"""A stochastic plan's part of the plan report: value of hedging, deterministic vs hedged out of sample."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gigawatt.plan.result import Plan
from gigawatt.report.html import figure_html, table_html

PLANS = {"deterministic": "#d62728", "hedged": "#1f77b4"}
STATS = [("mean", "cost_mean_usd"), ("P90", "cost_p90_usd"), ("CVaR95", "cost_cvar95_usd")]


def _usd(x: object) -> str:
    return f"${x / 1e9:,.3f}B" if isinstance(x, int | float) and np.isfinite(x) else "n/a"


def side_by_side(plan: Plan) -> pd.DataFrame:
    """deterministic vs hedged: mean, P90, CVaR95 of cost and spend, probability of shortfall."""
    oos = plan.metadata["stochastic"]["out_of_sample"]
    rows = [(label, oos["deterministic"][key], oos["hedged"][key]) for label, key in
            [*STATS, ("mean spend (money only)", "spend_mean_usd")]]
    df = pd.DataFrame(rows, columns=["", "deterministic", "hedged"])
    df["hedging saves"] = df["deterministic"] - df["hedged"]
    for col in ("deterministic", "hedged", "hedging saves"):
        df[col] = df[col].map(_usd)
    short = [oos["deterministic"]["shortfall_probability"], oos["hedged"]["shortfall_probability"]]
    df.loc[len(df)] = ["probability of shortfall", f"{short[0]:.1%}", f"{short[1]:.1%}", f"{short[0] - short[1]:+.1%}"]
    return df


def cost_cdf_figure(plan: Plan) -> go.Figure:
    """Each plan's cost CDF in the same fresh futures, its mean, P90 and CVaR95 marked."""
    rows = plan.tables["out_of_sample"]
    oos = plan.metadata["stochastic"]["out_of_sample"]
    fig = go.Figure()
    for name, colour in PLANS.items():
        cost = np.sort(rows.loc[rows["plan"] == name, "cost_usd"].to_numpy(dtype=float))
        share = np.arange(1, len(cost) + 1) / max(len(cost), 1)
        fig.add_scatter(x=cost, y=share, mode="lines", line={"shape": "hv", "color": colour}, name=name)
        for label, key in STATS:
            fig.add_vline(x=oos[name][key], line_dash="dot", line_color=colour,
                          annotation_text=f"{name} {label}", annotation_textangle=-90)
    return fig.update_layout(title=f"Out of sample: cost in {oos['futures']} fresh futures (money + penalties)",
                             xaxis_title="cost (USD, NPV)", yaxis_title="share of futures at or below")


def stats_figure(plan: Plan) -> go.Figure:
    oos = plan.metadata["stochastic"]["out_of_sample"]
    fig = go.Figure()
    for name, colour in PLANS.items():
        fig.add_bar(x=[label for label, _ in STATS], y=[oos[name][key] for _, key in STATS], name=name,
                    marker_color=colour)
    return fig.update_layout(barmode="group", title="Deterministic vs hedged: mean, P90, CVaR95 of cost",
                             yaxis_title="USD")


def stochastic_sections(plan: Plan) -> list[tuple[str, str]]:
    s = plan.metadata.get("stochastic")
    if not s:
        return []
    facts = [f"{s['futures']} futures, first stage before {s['decision_horizon']}",
             f"expected cost {_usd(s['expected_cost_usd'])}, CVaR{s['risk_alpha'] * 100:g} {_usd(s['cvar_usd'])}"]
    if "vss_usd" in s:
        facts.append(f"VSS {_usd(s.get('vss_usd'))} (the deterministic plan's expected cost in the same futures "
                     f"{_usd(s.get('deterministic_expected_cost_usd'))}); EVPI {_usd(s.get('evpi_usd'))}")
    ef = s.get("extensive_form", {})
    if ef.get("batches"):
        facts.append(f"sample-average approximation: {ef['batches']} batches, {ef['proposals']} proposals; "
                     f"lower bound {_usd(ef['lower_bound_usd'])}, gap estimate {_usd(ef['gap_estimate_usd'])}, "
                     f"95% bound {_usd(ef['gap_bound_95_usd'])}")
    sections = [("Hedging across futures", "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>")]
    if "out_of_sample" in s and "out_of_sample" in plan.tables:
        oos = s["out_of_sample"]
        sections.append((f"Out of sample: deterministic vs hedged in {oos['futures']} fresh futures (seed {oos['seed']})",
                         table_html(side_by_side(plan)) + figure_html(cost_cdf_figure(plan), False)
                         + figure_html(stats_figure(plan), False)))
    costs = plan.tables.get("scenario_costs")
    if costs is not None:
        sections.append(("Cost in each planned-for future", table_html(costs)))
    return sections
