"""The citizen's satisfaction survey (回访): the page the SMS links to, and its answer (no login: the signed,
expiring token is the guard; rate-limited per client)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from notify_svc.deps import Deps
from notify_svc.handlers import surveys
from notify_svc.schemas import SurveyAnswer, SurveyPublic
from shared.bus import pending
from shared.events.case import FeedbackResult
from shared.problems import Problem
from shared.ratelimit import client_address
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["public"])
page_router = APIRouter(tags=["public"])


async def _limit_public(request: Request, deps: Deps) -> None:
    allowed, retry = deps.public_limiter.allow(await client_address(request))
    if not allowed:
        raise Problem(429, "rate_limited", "操作过于频繁，请稍后再试", headers={"Retry-After": str(int(retry) + 1)})


@router.get("/surveys/{token}", response_model=SurveyPublic)
async def get_survey(token: str, request: Request, session: SessionDep, deps: Deps) -> SurveyPublic:
    await _limit_public(request, deps)
    s = await surveys.load(session, deps, token)
    return SurveyPublic(case_id=s.case_id, status=s.status, result=s.result, expires_at=s.expires_at)


@router.post("/surveys/{token}", response_model=SurveyPublic)
async def answer_survey(token: str, body: SurveyAnswer, request: Request, session: SessionDep,
                        deps: Deps) -> SurveyPublic:
    """The citizen's answer (no login: the signed, expiring token is the guard; rate-limited per client)."""
    await _limit_public(request, deps)
    async with pending.transaction(session):
        s = await surveys.answer(session, deps, token, FeedbackResult(body.result), body.comment)
    return SurveyPublic(case_id=s.case_id, status=s.status, result=s.result, expires_at=s.expires_at)


_SURVEY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>办理结果回访</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}button{font-size:1.1rem;
margin:.5rem .5rem .5rem 0;padding:.6rem 1.2rem}textarea{width:100%;height:6rem}</style></head><body>
<h2>您对本次办理结果满意吗？</h2>
<textarea id="c" maxlength="1000" placeholder="意见或建议（选填）"></textarea><br>
<button onclick="send('satisfied')">满意</button><button onclick="send('unsatisfied')">不满意</button>
<p id="m"></p>
<script>
async function send(result) {
  const r = await fetch('/api/v1/surveys/' + encodeURIComponent(location.pathname.split('/').pop()), {
    method: 'POST', headers: {'Content-Type': 'application/json', 'Accept-Language': 'zh-CN'},
    body: JSON.stringify({result: result, comment: document.getElementById('c').value || null})});
  const body = await r.json().catch(() => ({}));
  document.getElementById('m').textContent = r.ok ? '感谢您的评价！' : (body.detail || '提交失败，请稍后再试');
}
</script></body></html>"""


@page_router.get("/s/{token}", include_in_schema=False, response_class=HTMLResponse)
async def survey_page(token: str) -> HTMLResponse:
    """The page the survey SMS links to (the API call it makes checks the token)."""
    return HTMLResponse(_SURVEY_PAGE)
