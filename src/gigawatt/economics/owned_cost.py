"""What a plan's owned capacity cost per GW, to hold against published $/GW figures.

Run on a saved plan: ``python -m gigawatt.economics.owned_cost PLAN_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from gigawatt.catalog import load_catalog


class OwnedCost(BaseModel):
    it_capex_usd: float
    facility_capex_usd: float
    chip_it_gw: float                 # sum of units bought x IT kW per unit (no fabric, no PUE)
    facility_gw: float                # facility power started (builds), PUE included
    usd_per_gw_chip_it: float         # (IT + facility capex) / chip_it_gw, undiscounted
    usd_per_gw_facility: float        # (IT + facility capex) / facility_gw, undiscounted

    def line(self) -> str:
        return (f"owned all-in capex ${self.usd_per_gw_chip_it / 1e9:,.1f}B per GW of chip IT power "
                f"({self.chip_it_gw:,.2f} GW), ${self.usd_per_gw_facility / 1e9:,.1f}B per GW of facility "
                f"power ({self.facility_gw:,.2f} GW); IT ${self.it_capex_usd / 1e9:,.1f}B + facility "
                f"${self.facility_capex_usd / 1e9:,.1f}B")


def owned_cost(purchases: pd.DataFrame, builds: pd.DataFrame, spend: pd.DataFrame,
               it_kw: dict[str, float] | None = None) -> OwnedCost:
    """Undiscounted owned capex per GW from a plan's purchases, builds and spend tables.

    `it_kw` maps accelerator ids to IT kW per unit (default: the catalog's).
    """
    if it_kw is None:
        it_kw = {a.id: a.it_kw.value for a in load_catalog().accelerators.values() if a.it_kw}
    gw = float((purchases["units"] * purchases["acc"].map(it_kw)).sum()) / 1e6 if len(purchases) else 0.0
    facility_gw = float(builds["mw_started"].sum()) / 1e3 if len(builds) else 0.0
    it = float(spend["it_capex_usd"].sum())
    facility = float(spend["facility_capex_usd"].sum())
    return OwnedCost(it_capex_usd=it, facility_capex_usd=facility, chip_it_gw=gw, facility_gw=facility_gw,
                     usd_per_gw_chip_it=(it + facility) / gw if gw > 0 else float("nan"),
                     usd_per_gw_facility=(it + facility) / facility_gw if facility_gw > 0 else float("nan"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gigawatt.economics.owned_cost PLAN_DIR (written by gigawatt plan --out)")
        return 2
    d = Path(argv[0])
    try:
        tables = [pd.read_csv(d / f"{name}.csv") for name in ("purchases", "builds", "spend")]
    except (FileNotFoundError, pd.errors.EmptyDataError) as e:
        print(f"error: {e}; give a directory written by `gigawatt plan --out`")
        return 2
    print(owned_cost(*tables).line())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
