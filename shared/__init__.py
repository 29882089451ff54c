"""Mechanisms shared by every Fengqiao service: events, bus, database, settings, auth, problems.

No business rules live here.
"""
