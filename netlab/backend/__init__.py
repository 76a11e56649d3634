"""Backends make plan steps real. Kernel calls live here and nowhere else."""
