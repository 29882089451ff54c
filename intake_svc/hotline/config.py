"""Configuration of the 12345 hotline clients (read by ``IntakeSettings.hotline_clients``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HotlineClient(BaseModel):
    """One 12345 platform that pushes work orders to us and receives their status back.

    ``secret`` verifies the platform's requests; ``callback_secret`` signs ours (both HMAC-SHA256).
    ``mapping`` names the city's format in ``intake_svc/data/hotline_mappings/<mapping>.yaml``; ``unit_id`` is
    the receiving unit (the street centre) that sees the orders before routing assigns them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(min_length=16)
    callback_url: str = Field(pattern=r"^https?://", description="where status callbacks are POSTed")
    callback_secret: str = Field(min_length=16)
    mapping: str = Field(default="qinglan", pattern=r"^[a-z0-9_\-]+$")
    unit_id: str | None = Field(default=None, description="the receiving unit, e.g. the street centre S1")
