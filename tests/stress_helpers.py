"""A small scenario that exercises every uncertainty factor, and its plan (cached per session)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from gigawatt.plan import plan as make_plan
from gigawatt.plan.result import Plan
from gigawatt.scenario import Scenario, parse_scenario

STRESS_YAML = """
name: stress-small
horizon: {start: 2026Q1, end: 2028Q4}
money: {discount_rate: 0.08}
providers:
  - {id: self, kind: owned}
  - {id: aws, kind: cloud}
  - {id: oracle, kind: cloud}
sites:
  - id: texas
    provider: self
    max_power_mw: 300
    energisation: [{from: 2026Q1, mw: 100}, {from: 2027Q1, mw: 300}]
    pue: 1.15
    electricity_usd_per_mwh: 66.0
    construction_lead_time_quarters: 2
    accelerators: [nvidia_gb200_nvl72]
cloud_offers:
  - id: aws-h200
    provider: aws
    accelerator: nvidia_h200_sxm
    terms:
      - {quarters: 1, price_usd_per_accelerator_hour: 7.91}
      - {quarters: 4, price_usd_per_accelerator_hour: 3.5}
    max_accelerators: 60000
contracts:
  - id: oracle-deal
    counterparty: oracle
    accelerator: nvidia_h100_sxm
    capacity_accelerators: 30000
    start: 2026Q2
    term_quarters: 10
    total_usd: 4.0e+9
chip_deals:
  - id: gb200-alloc
    vendor: NVIDIA
    accelerator: nvidia_gb200_nvl72
    units_per_quarter: 40000
    start: 2026Q1
    end: 2028Q4
demand:
  training:
    - id: run-2027
      total_exaflop: 1.0e+8
      start: 2027Q1
      end: 2027Q2
      mfu: 0.4
      min_colocated_accelerators: 20000
  inference:
    - id: api
      start: 2026Q1
      start_exaflops: 8
      growth_per_year: 0.8
      utilization: 0.35
finance:
  revenue_usd_per_year: {2026: 6.0e+9, 2027: 9.0e+9, 2028: 12.0e+9}
  budget_usd_per_year: {2026: 20.0e+9}
policy:
  n_minus_1_alpha: 0.3
  max_provider_share: 0.8
uncertainty:
  method: lhs
  demand:
    - {demand: all, multiplier: {kind: triangular, low: 0.8, mode: 1.0, high: 1.3}}
  providers:
    - {provider: oracle, default: {catalog: oracle_cds_2025_12}}
  contracts:
    - {contract: oracle-deal, delivery_delay_quarters: {kind: discrete, values: [0, 1, 2], weights: [0.6, 0.3, 0.1]},
       delivered_share: {kind: uniform, low: 0.7, high: 1.0}}
  sites:
    - {site: texas, construction_delay_quarters: {kind: catalog, id: us_datacenter_delay_2026},
       energisation_delay_quarters: {kind: catalog, id: stargate_abilene_energisation}}
  chip_deals:
    - {deal: gb200-alloc, shortfall_share: {kind: catalog, id: ai_chip_supply_gap_2026}}
  prices:
    electricity_multiplier: {kind: lognormal, median: 1.0, sigma: 0.2, low: 0.5, high: 2.0}
    cloud_multiplier: {kind: normal, mean: 1.0, std: 0.15, low: 0.6, high: 1.6}
  revenue: {multiplier: {kind: uniform, low: 0.6, high: 1.2}}
  correlations:
    - {factors: [demand.all, revenue], rank: 0.6}
"""


def stress_scenario(text: str = STRESS_YAML) -> Scenario:
    return parse_scenario(text, file="stress-small.yaml")


@lru_cache(maxsize=4)
def _plan_of(text: str) -> Plan:
    return make_plan(stress_scenario(text))


def stress_plan(text: str = STRESS_YAML) -> Plan:
    return _plan_of(text)


def write_case(tmp: Path, text: str = STRESS_YAML) -> tuple[Path, Path]:
    """The scenario file and its saved plan directory, as a user would have them."""
    scenario_file = tmp / "stress-small.yaml"
    scenario_file.write_text(text)
    plan_dir = stress_plan(text).save(tmp / "plan")
    return scenario_file, plan_dir
