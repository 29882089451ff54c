"""``make bench``: a load generator against the running stack that prints a table of figures."""
