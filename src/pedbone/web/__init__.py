"""pedbone.web (under construction)."""
