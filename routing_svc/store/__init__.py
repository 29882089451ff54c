"""Routing store: every raw SQL statement (named), the caches and the batch writer of routed cases."""
