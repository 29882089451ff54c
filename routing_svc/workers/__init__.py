"""Routing background loops (each on shared.loops.BackgroundLoop)."""
