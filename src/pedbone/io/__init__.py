"""pedbone.io (under construction)."""
