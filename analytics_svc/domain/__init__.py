"""Pure analytics logic (no I/O): the fold of case events into fact rows (``fold``), working time (``worktime``),
the rollup contributions of a fact row (``increments``), the KPI definitions (``kpis``), windows and trend buckets
(``windows``) and the spike rule (``spikes``)."""
