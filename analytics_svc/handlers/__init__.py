"""Analytics' handlers: the projection's consumers (``facts``, ``units``, ``spikes``) and the read side behind the
routes (``kpis``, ``breakdowns``, ``hotspots``, ``export``). None of them commits."""
