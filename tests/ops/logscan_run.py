"""A scripted run of the whole stack whose every log line the log scan test reads (``test_log_scan.py``).

    python -m tests.ops.logscan_run DIR

In its own process (its stdout and stderr are the services' logs): its own PostgreSQL and broker (their logs in
DIR), the four services at INFO with JSON logs, intake served on a real port with a 12345 client configured and the
platform simulator pushing an order and receiving its 签收 callback, cases with names, phones, ID numbers and
addresses registered, revealed and searched by phone, and a DingTalk-style webhook robot (URL with an
``access_token``, signed with a secret) receiving a new-case message. Writes DIR/needles.json: every secret and
personal datum used, for the test to look for.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiohttp import web
from asgi_lifespan import LifespanManager

from services.embedded import free_port
from services.registry import DEMO_ORG, ROOT, SERVICES
from shared.auth import Role
from tests.support import _KEYS, JWT_SECRET, act, eventually, id_number, settings_for, start_infra, token

ORDERS = [json.loads(line) for line in (ROOT / "services/data/hotline_orders_dev.jsonl").read_text().splitlines()
          if line.strip()]
CLIENT_ID = "qinglan-12345"




def _sim(out: Path, port: int, control: int, intake_port: int, secret: str, callback_secret: str
         ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.hotline_sim", "--port", str(port), "--control-port", str(control),
         "--intake-url", f"http://127.0.0.1:{intake_port}", "--client-id", CLIENT_ID, "--secret", secret,
         "--callback-secret", callback_secret],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=(out / "sim.log").open("wb"),
        stderr=subprocess.STDOUT)


async def main(out: Path) -> None:
    secret = f"platform-{secrets.token_hex(12)}"
    callback_secret = f"callback-{secrets.token_hex(12)}"
    robot_token = f"robot{secrets.token_hex(12)}"
    robot_secret = f"SEC{secrets.token_hex(12)}"
    tokens = {"operator": token(Role.OPERATOR, "S1", "op-logscan"), "admin": token(Role.ADMIN, None, "admin-logscan"),
              "street": token(Role.STREET_ADMIN, "S1", "U-S1-1"), "mediator": token(Role.MEDIATOR, "S1", "med-logscan"),
              "service": token(Role.SERVICE, None)}
    hdr = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    n = uuid.uuid4().int
    people = [{"name": name, "phone": f"139{(n + i) % 10**8:08d}", "id_number": id_number(n + i),
               "address": f"青澜区鹭鸣街道松涛花园{(n >> 8) % 90 + 10}号楼{(n >> 16) % 900 + 100 + i}室"}
              for i, name in enumerate(["欧阳镜澄", "司马瑾瑜", "上官翎羽"])]
    order = ORDERS[0]
    needles = {
        "jwt_secret": JWT_SECRET, **{f"key_{k}": v for k, v in _KEYS.items()},
        **{f"token_{k}": v for k, v in tokens.items()},
        "hotline_secret": secret, "hotline_callback_secret": callback_secret,
        "robot_access_token": robot_token, "robot_secret": robot_secret,
        **{f"{field}_{i}": p[field] for i, p in enumerate(people) for field in ("name", "phone", "id_number",
                                                                                 "address")},
        "order_caller_name": order["caller"]["name"], "order_caller_phone": order["caller"]["phone"],
        "order_address": order["address"],
    }
    (out / "needles.json").write_text(json.dumps(needles, ensure_ascii=False))

    infra = start_infra(out)
    sim: subprocess.Popen[bytes] | None = None
    robot_runner: web.AppRunner | None = None
    try:
        url = await asyncio.to_thread(infra.database, "fq_logscan")
        bootstrap = infra.broker.bootstrap
        services = {s.name: s for s in SERVICES}
        sim_port, control_port, intake_port, robot_port = free_port(), free_port(), free_port(), free_port()
        clients = {CLIENT_ID: {"secret": secret, "callback_url": f"http://127.0.0.1:{sim_port}/callbacks",
                               "callback_secret": callback_secret, "mapping": "qinglan", "unit_id": "S1"}}
        common: dict[str, Any] = {"log_level": "INFO", "log_json": True}
        apps = {}
        for name in ("intake", "routing", "notify", "analytics"):
            module = __import__(f"{services[name].package}.app", fromlist=["create_app"])
            extra = {"hotline_clients": clients, "hotline_sender_poll_seconds": 0.2} if name == "intake" else {}
            apps[name] = module.create_app(settings_for(services[name], url, bootstrap, **common, **extra))

        got: list[dict[str, Any]] = []

        async def robot(request: web.Request) -> web.Response:
            got.append(await request.json())
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        robot_app = web.Application()
        robot_app.router.add_post("/robot/send", robot)
        robot_runner = web.AppRunner(robot_app, access_log=None)
        await robot_runner.setup()
        await web.TCPSite(robot_runner, "127.0.0.1", robot_port).start()

        managers = [LifespanManager(a, startup_timeout=60, shutdown_timeout=60) for a in apps.values()]
        for m in managers:
            await m.__aenter__()
        # production: uvicorn --no-access-log (deploy/entrypoint.sh, the stack runner); the access log is ours
        server = uvicorn.Server(uvicorn.Config(apps["intake"], host="127.0.0.1", port=intake_port, lifespan="off",
                                               access_log=False, log_level="info"))
        serving = asyncio.create_task(server.serve())
        clients_http = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=f"http://{name}",
                                                timeout=30) for name, a in apps.items()}
        c = clients_http
        try:
            await eventually(lambda: asyncio.sleep(0, server.started), what="intake serving")
            sim = _sim(out, sim_port, control_port, intake_port, secret, callback_secret)
            r = await c["routing"].post("/api/v1/org/import", json=json.loads(DEMO_ORG.read_text()),
                                        headers=hdr["service"])
            assert r.status_code == 200, r.text
            robot_url = f"http://127.0.0.1:{robot_port}/robot/send?access_token={robot_token}"

            async def org_known() -> bool:  # notify learns the org from routing's events
                r = await c["notify"].put("/api/v1/units/G01/channels/webhook",  # If-Match "0": create it
                                          headers={**hdr["admin"], "If-Match": '"0"'},
                                          json={"address": robot_url, "secret": robot_secret})
                return r.status_code == 200

            await eventually(org_known, timeout=60, what="notify knows G01 (webhook channel set)")

            case_ids = []
            for p in people:
                body = {"channel": "walk_in", "request_type": "dispute", "title": "楼上漏水",
                        "description": "楼上卫生间漏水到我家天花板，协商无果，请求调解。",
                        "location": {"grid_id": "G01", "address": p["address"]},
                        "parties": [{"role": "applicant", "kind": "person", "name": p["name"], "phone": p["phone"],
                                     "id_number": p["id_number"]}]}
                r = await c["intake"].post("/api/v1/cases", json=body, headers=hdr["operator"])
                assert r.status_code == 201, r.text
                case_ids.append(r.json()["id"])
            # the party's data in a query string and a path: the access log keeps the route template only
            await c["intake"].get("/api/v1/cases", params={"q": people[0]["name"]}, headers=hdr["operator"])
            code = (await c["intake"].get(f"/api/v1/cases/{case_ids[0]}", headers=hdr["admin"])).json()["code"]
            await c["intake"].get(f"/api/v1/public/cases/{code}", params={"phone_last4": people[0]["phone"][-4:]})
            r = await c["intake"].post(f"/api/v1/cases/{case_ids[0]}/parties/reveal", headers=hdr["mediator"],
                                       json={"purpose": "电话联系申请人安排调解"})
            assert r.status_code == 200, r.text
            # a bad request carrying personal data: its problem answer, not the logs, names the field
            await c["intake"].post("/api/v1/cases", json={"parties": [{"name": people[1]["name"],
                                                                        "phone": "x" + people[1]["phone"]}]},
                                   headers=hdr["operator"])

            async def robot_called() -> bool:
                return bool(got)

            await eventually(robot_called, timeout=60, what="the webhook robot got the new-case message")

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control_port}", timeout=60) as ctl:
                async def sim_up() -> bool:
                    try:
                        return (await ctl.get("/sim/state")).status_code == 200
                    except httpx.HTTPError:
                        return False

                await eventually(sim_up, what="the 12345 simulator")
                r = await ctl.post("/sim/push", json={"order_nos": [order["order_no"]]}, timeout=120)
                assert r.status_code == 200 and r.json()[0]["status"] == 201, r.text
                case_id = r.json()[0]["body"]["case_id"]

                async def assignment() -> dict[str, Any] | None:
                    r = await c["routing"].get(f"/api/v1/cases/{case_id}/routing", headers=hdr["admin"])
                    cur = r.json()["current"] if r.status_code == 200 else None
                    return cur if cur and cur["status"] == "assigned" else None

                a = await eventually(assignment, what="the order's case assigned")
                r = await act(c["routing"], a["id"], "accept", hdr["street"])
                assert r.status_code == 200, r.text

                async def called_back() -> bool:
                    r = await ctl.get("/sim/callbacks", params={"order_no": order["order_no"]})
                    return bool(r.json().get("applied"))

                await eventually(called_back, timeout=60, what="the 签收 callback at the platform")
            print("LOGSCAN RUN COMPLETE", flush=True)
        finally:
            for client in c.values():
                await client.aclose()
            server.should_exit = True
            await serving
            for m in reversed(managers):
                await m.__aexit__(None, None, None)
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(10)
        if robot_runner is not None:
            await robot_runner.cleanup()
        infra.broker.stop()
        infra.pg.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
