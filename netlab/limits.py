"""What the kernel accepts, known before anything is built.

Each figure was measured on this project's kernel (Linux 6.18) in a throw-away
namespace (``unshare -n``), not taken from memory; the comment says how. What
can only be known on the machine that runs ``up`` (which sysctls a child
namespace has, names already on the real host, how many namespaces the kernel
allows) is checked by ``netlab.preflight`` before the first change.
Pure: no kernel, no I/O.
"""

from __future__ import annotations

# A bridge has 1,024 port numbers (BR_MAX_PORTS, 1 << BR_PORT_BITS) and number 0
# is reserved (net/bridge/br_if.c, find_portno): measured, `ip link set p1024
# master br0` fails with EXFULL ("Exchange full") once 1,023 ports are in.
BR_MAX_PORTS = 1024
BRIDGE_PORTS = BR_MAX_PORTS - 1

# veth and bridge alike: ETH_MIN_MTU..ETH_MAX_MTU. Measured: mtu 67 → "mtu less
# than device minimum", 65536 → "mtu greater than device maximum".
MTU_MIN, MTU_MAX = 68, 65535
# Measured: `ip addr add 2001:2::1/64` on an MTU-1279 veth → EINVAL, and lowering
# an interface below 1,280 silently drops its IPv6 addresses (IPV6_MIN_MTU).
IPV6_MIN_MTU = 1280
ETH_HEADER = 14  # what tbf counts of a frame beyond its MTU (the kernel's warning says mtu 9014 for 9000)

# Interface names the kernel refuses whatever their length: measured, `ip link
# add all|default type veth` → EINVAL (they would shadow /proc/sys/net/ipv4/conf/
# all and default), `lo` → EEXIST (every namespace has its loopback).
RESERVED_IFNAMES = {"lo": "the namespace's own loopback", "all": "refused by the kernel (/proc/sys/net/*/conf/all)",
                    "default": "refused by the kernel (/proc/sys/net/*/conf/default)"}

U32 = (1 << 32) - 1
ROUTE_METRIC_MAX = U32  # RTA_PRIORITY is a u32 (`ip route add … metric 4294967296` is refused)

# tbf, as netlab sets it up (netlab/backend/tc.py: a bucket of 4 ms of traffic, at
# least 3,200 bytes; pyroute2 sends tc_tbf_qopt without TCA_TBF_RATE64):
#  - the rate in bytes/s is a u32: at most 4,294,967,295 B/s (34.36 Gbit/s);
#    measured, 34.36gbit fails to encode ('I' format requires ... <= 4294967295);
#  - the bucket's time, burst / rate in psched ticks (15.625 a microsecond:
#    /proc/net/psched 000003e8 00000040), is a u32 too: at least 12 B/s (96 bit/s);
#    measured, 94bit fails to encode and 0bit divides by zero.
TBF_BURST_MIN = 3200
TBF_BUCKET_DIVISOR = 250  # bytes/s // 250 = 4 ms of traffic
PSCHED_TICKS_PER_US = 15.625
# A frame larger than the bucket is dropped (non-GSO traffic): measured with mtu
# 9000 at 1mbit (bucket 3,200), every 8,000-byte ping was lost and the kernel
# logged "sch_tbf: burst 3200 is lower than device x mtu (9014) !".

# Random loss is an nftables numgen draw out of 1,000,000 (netlab/backend/nft.py):
# anything under 0.0001% would round to no loss at all.
LOSS_STEP_PERCENT = 0.0001
# netem's latency is a u32 of psched ticks (tc_netem_qopt.latency): ~274.9 s.
DELAY_MAX_US = int(U32 / PSCHED_TICKS_PER_US)

def tbf_bucket(rate_bytes: int) -> int:
    """netlab's tbf bucket in bytes for a rate in bytes/s (the same rule as backend/tc.py)."""
    return max(rate_bytes // TBF_BUCKET_DIVISOR, TBF_BURST_MIN)


def rate_problem(bits: int, text: str) -> str | None:
    """Why a tbf rate (bits/s) cannot be set up, or None."""
    rate = bits // 8
    if rate > U32:
        return (f"{text} is more than tbf takes ({U32:,} bytes/s, 34.35gbit): netlab sets rates with "
                "32-bit tc parameters")
    if rate == 0 or tbf_bucket(rate) / rate * 1e6 * PSCHED_TICKS_PER_US > U32:
        return f"{text} is less than tbf takes: the slowest rate is 96bit (12 bytes/s)"
    return None


def bucket_problem(rate_bits: int, rate_text: str, mtu: int) -> str | None:
    """Why a rate-limited interface of ``mtu`` would drop its largest frames, or None."""
    bucket = tbf_bucket(rate_bits // 8)
    frame = mtu + ETH_HEADER
    if bucket >= frame:
        return None
    need = frame * TBF_BUCKET_DIVISOR * 8
    return (f"at {rate_text} the tbf bucket is {bucket:,} bytes, smaller than a full {frame:,}-byte frame of "
            f"MTU {mtu}: the kernel drops every frame larger than the bucket; use an MTU of at most "
            f"{bucket - ETH_HEADER:,} or a rate of at least {_rate_text(need)}")


def _rate_text(bits: int) -> str:
    for unit, size in (("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bits >= size:
            return f"{-(-bits * 100 // size) / 100:g}{unit}"
    return f"{bits}bit"


def ipv6_mtu_problem(mtu: int) -> str:
    return (f"an IPv6 address needs an MTU of at least {IPV6_MIN_MTU} (the kernel refuses it on MTU {mtu}); "
            "raise the MTU or use IPv4 only")


def bridge_ports_problem(count: int) -> str | None:
    if count <= BRIDGE_PORTS:
        return None
    return (f"{count:,} members: a Linux bridge holds at most {BRIDGE_PORTS:,} ports (BR_MAX_PORTS is "
            f"{BR_MAX_PORTS:,} and port 0 is reserved), trunks included; split the members across several "
            "bridges joined by trunks (`trunks: [br0]`)")
