"""The big-screen page (大屏): static HTML, CSS and JS plus Apache ECharts, all served by this service.

The page itself holds no data and needs no token; its script reads the viewer's token from the URL fragment
(``/dashboard#token=...``) and calls the API with it, so the token decides the scope. Fresh tokens reach a running
wall screen by ``postMessage`` from the page that frames it, accepted only from the dashboard's own origin and
``ANALYTICS_DASHBOARD_EMBED_ORIGINS`` (the same list bounds who may frame it: CSP ``frame-ancestors``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from analytics_svc.deps import Deps

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(deps: Deps) -> HTMLResponse:
    s = deps.settings
    page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    page = (page.replace("{{REFRESH_SECONDS}}", str(int(s.dashboard_refresh_seconds)))
            .replace("{{EMBED_ORIGINS}}", html.escape(json.dumps(s.dashboard_embed_origins), quote=True)))
    ancestors = " ".join(["'self'", *s.dashboard_embed_origins])
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                       "Content-Security-Policy": f"frame-ancestors {ancestors}"})
