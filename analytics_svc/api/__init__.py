"""Analytics' HTTP API: one thin router per resource."""

from __future__ import annotations

from analytics_svc.api import breakdowns, dashboard, export, grids, hotspots, kpis, people, records

ROUTERS = [kpis.router, breakdowns.router, hotspots.router, grids.router, export.router, dashboard.router,
           records.router, people.router]
