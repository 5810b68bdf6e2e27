"""The Wi-Fi routes of the agent's local HTTP API (127.0.0.1, bearer token):

GET /wifi/status, GET /wifi/plan, POST /wifi/on and /wifi/off with {"group": "bowl", "for": "3h", "who": "..."}.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agent.errors import ConfigError
from agent.httpapi import HttpError, LocalHttpServer, Request, Response
from agent.wifi.interlock import WifiBusy
from agent.wifi.service import WifiService
from agent.wifi.status import status_json
from agent.yamlfile.section import parse_duration


def add_routes(server: LocalHttpServer, service: WifiService) -> None:
    token = service.config.api.token
    if token is None:
        raise ConfigError("wifi.api.token is required to serve the Wi-Fi API", key="wifi.api.token")

    async def plan(_request: Request) -> Response:
        result, _observed, _desired = await service.plan()
        return Response.json(result.to_json())

    def status(_request: Request) -> Response:
        return Response.json(status_json(service))

    def switch(state: str) -> Any:
        async def handler(request: Request) -> Response:
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("group"), str):
                raise HttpError(400, 'body must be {"group": NAME, "for": DURATION}')
            group = body["group"]
            if group not in service.config.groups:
                known = ", ".join(sorted(service.config.groups))
                raise HttpError(404, f"no Wi-Fi group named {group!r} (groups: {known})")
            duration = body.get("for", "1h")
            if not isinstance(duration, str) or len(duration) > 32:
                raise HttpError(400, 'for: a duration as text, e.g. "3h" or "90m"')
            try:
                seconds = parse_duration(duration)
            except (ValueError, OverflowError) as exc:
                raise HttpError(400, f"for: {str(exc)[:100]}") from None
            if not 0 < seconds <= 7 * 86400:
                raise HttpError(400, "for: between 1s and 7d")
            now = service.clock()
            who = f"api:{body.get('who', 'anonymous')}"
            request_row = service.store.add_request(group, state, now=now, until=now + timedelta(seconds=seconds),
                                                    who=who, note=str(body.get("note", "")))
            try:
                result = await service.run_round()
            except WifiBusy as exc:        # the request is stored: the agent's next round applies it
                raise HttpError(409, f"{exc}: request {request_row.id} is recorded, the next round applies "
                                     "it") from None
            problems = result.problems({t.key for t in service.config.groups[group].targets})
            # a refusal by a guard rail is 403, a controller that failed (or could not be read) 409;
            # the request stays recorded
            status = 200 if not problems else 403 if any(p["result"] == "refused" for p in problems) else 409
            return Response.json({"request": {"id": request_row.id, "group": group, "state": state,
                                              "until": request_row.until.isoformat()}, **result.to_json(),
                                  "ok": not problems, "problems": problems}, status)
        return handler

    server.route("GET", "/wifi/status", status, token=token)
    server.route("GET", "/wifi/plan", plan, token=token)
    server.route("POST", "/wifi/on", switch("on"), token=token)
    server.route("POST", "/wifi/off", switch("off"), token=token)
