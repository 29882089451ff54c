"""Intake's handlers, one module per aggregate: load → domain → save + outbox rows. None commits: the entry point
(a route, the consumer) owns the transaction."""
