"""Small money helpers shared by the quote, the deals and the planner."""

from __future__ import annotations


def capital_recovery_factor(rate: float, years: float) -> float:
    """Yearly payment that repays 1 USD over `years` at `rate` (annuity factor)."""
    if years <= 0:
        raise ValueError("years must be positive")
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** -years)


def accelerators_in_mw(mw: float, it_kw: float, fabric_overhead: float, pue: float) -> float:
    """Accelerators that `mw` of facility power holds: IT kW with fabric and storage, times PUE."""
    return mw * 1000.0 / (it_kw * (1 + fabric_overhead) * pue)


def usd_per_exaflop_day(usd_per_accelerator_hour: float, bf16_dense_tflops: float) -> float:
    """Cost of one exaFLOP/s sustained for a day (peak dense BF16)."""
    accelerators_per_exaflops = 1e18 / (bf16_dense_tflops * 1e12)
    return usd_per_accelerator_hour * 24.0 * accelerators_per_exaflops
