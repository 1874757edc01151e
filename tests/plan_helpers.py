"""Small scenario builders for planner tests."""

from __future__ import annotations

from typing import Any

from gigawatt.scenario import Scenario


def scenario(**sections: Any) -> Scenario:
    base: dict[str, Any] = {
        "name": "test",
        "horizon": {"start": "2026Q1", "end": "2026Q1"},
        "money": {"discount_rate": 0.0},
        "providers": [{"id": "self", "kind": "owned"}, {"id": "cloud", "kind": "cloud"},
                      {"id": "cloud2", "kind": "cloud"}],
    }
    base.update(sections)
    return Scenario.model_validate(base)


def inference(id: str = "api", ef: float = 1.0, util: float = 0.5, start: str = "2026Q1",
              allowed: list[str] | None = None) -> dict[str, Any]:
    return {"id": id, "start": start, "start_exaflops": ef, "utilization": util,
            "allowed_accelerators": allowed or []}


def offer(id: str, price: float, acc: str = "nvidia_h100_sxm", provider: str = "cloud",
          cap: float | None = None, quarters: int = 1) -> dict[str, Any]:
    o: dict[str, Any] = {"id": id, "provider": provider, "accelerator": acc,
                         "terms": [{"quarters": quarters, "price_usd_per_accelerator_hour": price}]}
    if cap is not None:
        o["max_accelerators"] = cap
    return o
