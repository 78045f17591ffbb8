"""pedbone.store (under construction)."""
