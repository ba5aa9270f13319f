"""Review Workbench: triage product feedback from the terminal, offline, and serve it as an API."""

__version__ = "0.1.0"
