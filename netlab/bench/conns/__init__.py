"""`netlab bench conns`: a million concurrent TCP connections on one machine, and what each costs.

Book ch. 8 (§8.4, §8.5.1 many client IPs, §8.5.2 many server ports) and
ch. 7 (the kernel's bytes per connection). ``run_conns`` is the API that
labs (e.g. ``million-connections``) call; ``netlab bench conns`` is the CLI.
"""

from __future__ import annotations

from netlab.bench.conns.plan import LimitError, Options

__all__ = ["LimitError", "Options", "parse_size", "run_conns"]

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40}


def parse_size(text: str | int) -> int:
    """Bytes of "16GiB", "512M", "1.5g" or a plain number (binary units throughout)."""
    if isinstance(text, int):
        return text
    raw = str(text).strip().lower().replace(" ", "")
    num = raw.rstrip("kmgtib")
    try:
        return int(float(num) * _UNITS[raw[len(num):]])
    except (KeyError, ValueError):
        raise ValueError(f"{text!r} is not a size (e.g. 16GiB, 512MiB, 1.5G)") from None


def parse_target(target: int | str) -> int | None:
    """An int target, or None for "max" (grow until the memory budget)."""
    if isinstance(target, str) and target.strip().lower() == "max":
        return None
    value = int(str(target).replace(",", "").replace("_", ""))
    if value < 1:
        raise ValueError(f"target {target!r} must be at least 1 (or 'max')")
    return value


def run_conns(target: int | str = 40000, scheme: str = "ips", hold: float = 0,
              memory_budget: int | None = None, lab: str = "bench-conns", progress: bool = True) -> dict:
    """Open ``target`` concurrent connections (or as many as ``memory_budget`` bytes allow when
    ``target="max"``) from a client namespace to a server namespace, hold them ``hold`` seconds,
    tear everything down; return the JSON-ready figures (``target``, ``established``, ``setup_s``,
    ``rate_cps``, ``kernel_bytes_per_conn``, ``kernel_bytes_per_socket``, ``user_bytes_per_conn``,
    ``workers``, ``client_ips``, ``slab``, ``series``, ``sockstat``, ``conntrack``, ``teardown``...).

    ``progress`` draws the ramp's bar on stderr (only on a terminal); a caller with a Rich live
    display of its own passes False. Call it from the main thread to have SIGTERM tear down too.
    Raises LimitError (a NetlabError) when a limit of the machine makes the target impossible."""
    from netlab.bench.conns import runner

    opts = Options(target=parse_target(target), scheme=scheme, hold=hold,
                   memory_budget=parse_size(memory_budget) if memory_budget is not None else None,
                   lab=lab, progress=progress)
    return runner.run(opts)
