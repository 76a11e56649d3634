"""The book's labs: installed as the package data netlab.content.labs (see pyproject.toml)."""
