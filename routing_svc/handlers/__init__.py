"""Routing handlers, one module per aggregate: load → domain → save (+ outbox rows, pending writes); never commit."""
