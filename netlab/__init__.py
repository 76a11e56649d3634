"""netlab: container-network labs built from YAML on the real Linux kernel."""

__version__ = "0.1.0"
