"""The ``pedbone`` command line (Typer). No clinical logic lives here."""

from pedbone.cli._app import app, main

__all__ = ["app", "main"]
