"""Print what a stochastic plan adds: the value of hedging and deterministic vs hedged out of sample."""

from __future__ import annotations

from typing import Any

from gigawatt.cli.output import console, escape, money, table
from gigawatt.plan.result import Plan

ROWS = [("mean cost", "cost_mean_usd"), ("P90 cost", "cost_p90_usd"), ("CVaR95 cost", "cost_cvar95_usd"),
        ("mean spend (money only)", "spend_mean_usd")]


def _money(x: Any) -> str:
    return money(x) if isinstance(x, int | float) else "n/a"


def print_stochastic(plan: Plan) -> None:
    s = plan.metadata.get("stochastic")
    if not s:
        return
    ef = s.get("extensive_form", {})
    how = (f"{ef.get('batches')} batches of {ef.get('futures_per_batch')} futures, {ef.get('proposals')} proposals "
           f"evaluated in all; 95% gap bound {_money(ef.get('gap_bound_95_usd'))}"
           if ef.get("batches") else f"one extensive form, {ef.get('variables', 0):,} variables")
    console.print(f"[bold]hedged across {s['futures']} futures[/bold] (first stage before {s['decision_horizon']}; "
                  f"{escape(how)}): expected cost {_money(s['expected_cost_usd'])}, "
                  f"CVaR{s['risk_alpha'] * 100:g} {_money(s['cvar_usd'])}")
    if "vss_usd" in s:
        console.print(f"value of the stochastic solution (VSS) {_money(s.get('vss_usd'))}; "
                      f"expected value of perfect information (EVPI) {_money(s.get('evpi_usd'))}")
    if s.get("value_note"):
        console.print(f"note: {escape(s['value_note'])}")
    risk = s.get("price_of_risk_aversion")
    if risk:
        console.print(f"price of risk aversion: expected cost up {_money(risk['expected_cost_up_usd'])}, "
                      f"CVaR down {_money(risk['cvar_down_usd'])}")
    oos = s.get("out_of_sample")
    if oos:
        det, hedged = oos["deterministic"], oos["hedged"]
        rows = [[label, _money(det[key]), _money(hedged[key]), _money(det[key] - hedged[key])] for label, key in ROWS]
        rows.append(["probability of shortfall", f"{det['shortfall_probability']:.1%}",
                     f"{hedged['shortfall_probability']:.1%}",
                     f"{det['shortfall_probability'] - hedged['shortfall_probability']:+.1%}"])
        console.print(table(f"Out of sample: deterministic vs hedged in {oos['futures']} fresh futures "
                            f"(seed {oos['seed']}; cost = money + penalties)",
                            ["", "deterministic", "hedged", "hedging saves"], rows))
