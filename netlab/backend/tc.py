"""Link rate limits with tbf (netem and fq_codel may be missing; tbf is everywhere)."""

from __future__ import annotations

from pyroute2 import IPRoute

from netlab.model import rate_bits


def tbf_params(rate: str) -> dict:
    """tbf parameters for a rate: a bucket of 4 ms of traffic (at least two full
    frames), and a 50 ms queue, as tc-tbf(8) suggests for a shaping link."""
    bits = rate_bits(rate)
    burst = max(bits // 8 // 250, 3200)
    return {"rate": bits // 8, "burst": burst, "latency": 50_000}  # rate in bytes/s, latency in µs


def tbf(ipr: IPRoute, index: int, rate: str) -> None:
    p = tbf_params(rate)
    ipr.tc("replace", "tbf", index=index, handle="1:", rate=p["rate"], burst=p["burst"], latency=p["latency"])
