"""Every SQL statement of analytics: the fact rows' batch statements, the rollups and their increments, the KPI
counts, the report reads, the spike checks, the units."""
