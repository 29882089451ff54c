"""The big-screen page (大屏): static HTML, CSS and JS plus Apache ECharts, all served by this service.

The page itself holds no data and needs no token; its script reads the viewer's token from the URL fragment
(``/dashboard#token=...``) and calls the API with it, so the token decides the scope.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from analytics_svc.deps import Deps

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(deps: Deps) -> HTMLResponse:
    page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    refresh = str(int(deps.settings.dashboard_refresh_seconds))
    return HTMLResponse(page.replace("{{REFRESH_SECONDS}}", refresh),
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
