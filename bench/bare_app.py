"""The machine's ceiling: a bare FastAPI endpoint that validates a case-shaped body and answers 201."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    channel: str
    request_type: str
    title: str
    description: str
    location: dict[str, object] = {}
    parties: list[dict[str, object]] = []


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo", status_code=201)
    async def echo(body: Body) -> dict[str, str]:
        return {"title": body.title}

    return app
