"""Shared fixtures: a small city and named personas, so permission tests read like the rules."""
