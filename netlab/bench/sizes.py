"""A benchmark's list of sizes (``--nodes 1000,5000``, ``--sizes 20_000``): numbers with
commas, each within the benchmark's bounds, or a usage error naming the option."""

from __future__ import annotations

import typer


def parse(text: str, option: str, high: int, what: str = "hosts", example: str = "1000,2000,5000,10000") -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r}: a number of {what}, or several with commas ({example})")
    if not sizes or any(not 1 <= n <= high for n in sizes):
        raise typer.BadParameter(f"{option} {text!r}: each size from 1 to {high:,} {what}")
    return sizes
