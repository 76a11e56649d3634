"""Example and benchmark topologies: installed as the package data netlab.content.topologies
(see pyproject.toml)."""
