"""Price a campus of one accelerator type from sourced inputs."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from gigawatt.catalog import Accelerator, Sourced, load_catalog
from gigawatt.economics.finance import capital_recovery_factor, usd_per_exaflop_day
from gigawatt.economics.hardware_prices import catalog_curve, installed_usd
from gigawatt.errors import CatalogError
from gigawatt.periods import HOURS_PER_YEAR, parse_quarter, quarter_label


class QuoteLine(BaseModel):
    name: str
    value: float
    unit: str
    formula: str
    inputs: list[str]


class Benchmark(BaseModel):
    id: str
    metric: str
    low_usd_per_gw: float
    high_usd_per_gw: float
    ratio_to_quote: float
    source: str


class Quote(BaseModel):
    accelerator: str
    gw: float
    inputs: dict[str, Sourced]
    lines: list[QuoteLine]
    benchmarks: list[Benchmark]

    def value(self, name: str) -> float:
        return next(line.value for line in self.lines if line.name == name)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accelerator": self.accelerator, "gw": self.gw}
        out.update({line.name: line.value for line in self.lines})
        out["inputs"] = {k: v.model_dump() for k, v in self.inputs.items()}
        out["formulas"] = {line.name: line.formula for line in self.lines}
        out["benchmarks"] = [b.model_dump() for b in self.benchmarks]
        return out


def _in_range(
    option: str, value: float | None, low: float, high: float, unit: str,
    *, low_open: bool = False, high_open: bool = False,
) -> None:
    """Refuse a command-line number outside [low, high] (or an open end), naming the range."""
    if value is None:
        return
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise CatalogError(f"{option} {value:g} is out of range; give a number in {interval} ({unit})")


def _given(value: float | None, default: Sourced, label: str) -> Sourced:
    if value is None:
        return default
    return Sourced(value=value, source=f"given on the command line ({label})", confidence="user")


def _installed_price(acc: Accelerator, bought: str | None) -> Sourced:
    """The catalog's installed price of `acc` for a unit bought in quarter `bought`."""
    price, curve = acc.unit_price_usd, catalog_curve(acc)
    if price is None or curve is None:
        raise CatalogError(f"'{acc.id}' has no installed price in the catalog")
    try:
        q = parse_quarter(bought) if bought is not None else curve.price_from
    except ValueError as e:
        raise CatalogError(f"--bought: {e}") from None
    return Sourced(
        value=installed_usd(curve, q), confidence=price.confidence,
        source=(f"installed USD per accelerator bought in {quarter_label(q)} ({price.value:,.0f} from "
                f"{price.price_from}, {curve.decline_per_year:.0%}/yr less after it; "
                f"economics.hardware_prices); includes {price.includes}; {price.source} [{price.url or 'no url'}, "
                f"{price.as_of}]"),
    )


def quote(
    accelerator: str,
    gw: float = 1.0,
    *,
    bought: str | None = None,
    pue: float | None = None,
    electricity_usd_per_mwh: float | None = None,
    facility_capex_usd_per_mw: float | None = None,
    discount_rate: float | None = None,
    it_life_years: float | None = None,
    load_factor: float = 1.0,
) -> Quote:
    """Capex, energy and unit costs of a `gw` campus (facility power) of `accelerator`.

    Accelerators are charged at their installed price (economics.hardware_prices) for a unit
    bought in quarter `bought`; by default at the catalog's price, quoted for its `price_from`.
    """
    _in_range("--gw", gw, 0, 1000, "GW of facility power", low_open=True)
    _in_range("--load-factor", load_factor, 0, 1, "share of the year", low_open=True)
    _in_range("--pue", pue, 1, 3, "facility power over IT power")
    _in_range("--electricity", electricity_usd_per_mwh, 0, 10_000, "USD per MWh")
    _in_range("--facility-usd-per-mw", facility_capex_usd_per_mw, 0, 1e9, "USD per MW of IT load")
    _in_range("--discount-rate", discount_rate, 0, 1, "a yearly rate like 0.08", high_open=True)
    _in_range("--life", it_life_years, 0, 50, "years", low_open=True)
    cat = load_catalog()
    acc = cat.accelerator(accelerator)
    if acc.it_kw is None or acc.unit_price_usd is None:
        raise CatalogError(
            f"'{accelerator}' is rent-only or has no sourced power/price; pick one of "
            + ", ".join(a for a, x in cat.accelerators.items() if not x.rent_only)
        )
    d = cat.defaults
    inputs = {
        "it_kw_per_accelerator": acc.it_kw,
        "unit_price_usd": _installed_price(acc, bought),
        "bf16_dense_tflops": Sourced(value=acc.bf16_dense_tflops, source=acc.source, confidence=acc.confidence),
        "fabric_overhead": d["fabric_overhead"],
        "pue": _given(pue, d["pue"], "--pue"),
        "facility_capex_usd_per_mw": _given(facility_capex_usd_per_mw, d["facility_capex_usd_per_mw"], "--facility-usd-per-mw"),
        "electricity_usd_per_mwh": _given(electricity_usd_per_mwh, d["electricity_usd_per_mwh"], "--electricity"),
        "discount_rate": _given(discount_rate, d["discount_rate"], "--discount-rate"),
        "it_life_years": _given(it_life_years, d["it_life_years"], "--life"),
        "facility_life_years": d["facility_life_years"],
    }
    v = {k: s.value for k, s in inputs.items()}
    facility_mw = gw * 1000.0
    kw_all_in = v["it_kw_per_accelerator"] * (1 + v["fabric_overhead"]) * v["pue"]
    n = facility_mw * 1000.0 / kw_all_in
    it_mw = facility_mw / v["pue"]
    facility_capex = it_mw * v["facility_capex_usd_per_mw"]
    it_capex = n * v["unit_price_usd"]
    total = facility_capex + it_capex
    energy = facility_mw * load_factor * HOURS_PER_YEAR * v["electricity_usd_per_mwh"]
    r = v["discount_rate"]
    yearly = (
        it_capex * capital_recovery_factor(r, v["it_life_years"])
        + facility_capex * capital_recovery_factor(r, v["facility_life_years"])
        + energy
    )
    per_hour = yearly / (n * HOURS_PER_YEAR * load_factor)
    # each line lists every input its value depends on (directly or through the lines above)
    units = ["it_kw_per_accelerator", "fabric_overhead", "pue"]
    capex = [*units, "facility_capex_usd_per_mw", "unit_price_usd"]
    hourly = [*capex, "electricity_usd_per_mwh", "discount_rate", "it_life_years", "facility_life_years"]
    lines = [
        QuoteLine(name="kw_per_accelerator_all_in", value=kw_all_in, unit="kW",
                  formula="it_kw x (1 + fabric_overhead) x pue", inputs=units),
        QuoteLine(name="accelerators", value=n, unit="accelerators",
                  formula="gw x 1e6 kW / kw_per_accelerator_all_in", inputs=units),
        QuoteLine(name="it_power_mw", value=it_mw, unit="MW", formula="gw x 1000 / pue", inputs=["pue"]),
        QuoteLine(name="facility_capex_usd", value=facility_capex, unit="USD",
                  formula="it_power_mw x facility_capex_usd_per_mw (per MW of critical load)",
                  inputs=["pue", "facility_capex_usd_per_mw"]),
        QuoteLine(name="it_capex_usd", value=it_capex, unit="USD", formula="accelerators x unit_price_usd",
                  inputs=[*units, "unit_price_usd"]),
        QuoteLine(name="total_capex_usd", value=total, unit="USD", formula="facility_capex + it_capex",
                  inputs=capex),
        QuoteLine(name="capex_usd_per_gw", value=total / gw, unit="USD/GW", formula="total_capex / gw",
                  inputs=capex),
        QuoteLine(name="energy_usd_per_year", value=energy, unit="USD/yr",
                  formula="gw x 1000 MW x load_factor x 8760 h x electricity_usd_per_mwh",
                  inputs=["electricity_usd_per_mwh"]),
        QuoteLine(name="usd_per_accelerator_hour", value=per_hour, unit="USD/accelerator-h",
                  formula="(it_capex x CRF(r, it_life) + facility_capex x CRF(r, facility_life) + energy) "
                  "/ (accelerators x 8760 h x load_factor)", inputs=hourly),
        QuoteLine(name="usd_per_exaflop_day", value=usd_per_exaflop_day(per_hour, v["bf16_dense_tflops"]),
                  unit="USD per EF/s-day (BF16 dense peak)",
                  formula="usd_per_accelerator_hour x 24 x 1e18 / (bf16_dense_tflops x 1e12)",
                  inputs=[*hourly, "bf16_dense_tflops"]),
    ]
    return Quote(accelerator=accelerator, gw=gw, inputs=inputs, lines=lines,
                 benchmarks=_benchmarks(total / gw))


def _benchmarks(capex_per_gw: float) -> list[Benchmark]:
    """Published all-in cost-per-GW estimates from the catalog, against this quote."""
    out = []
    for eid, row in load_catalog().economics.items():
        if row.get("unit") != "USD per GW" or not eid.startswith("capex_per_gw"):
            continue
        low = row.get("value", row.get("value_low"))
        high = row.get("value", row.get("value_high")) or low
        if low is None or high is None:
            continue
        mid = (float(low) + float(high)) / 2
        out.append(Benchmark(id=eid, metric=row["metric"], low_usd_per_gw=float(low),
                             high_usd_per_gw=float(high), ratio_to_quote=capex_per_gw / mid,
                             source=row["source"]))
    return out
