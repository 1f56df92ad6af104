"""The fault endpoint: list, inject and heal the learner's own faults (CSRF-protected JSON POSTs).

Async views, so that a kick reaches the connections on this process's event loop at once. Faults are
keyed by the learner's session (faults.learner_key), the same key their connections carry.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from playground import faults
from playground.limits import client_keys
from playground.log import CONN_RE

MAX_BODY_BYTES = 2048


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _ok(payload: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response["Cache-Control"] = "no-store"
    return response


async def _learner(request: HttpRequest) -> str | JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return _error(403, "login_required", "log in to inject faults into your own connections")
    learner = faults.learner_key(client_keys(None, request.COOKIES.get(settings.SESSION_COOKIE_NAME)))
    if learner is None:
        return _error(403, "no_session", "your session cookie is missing: reload the page")
    return learner


def _payload(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "too_large", f"a fault request is at most {MAX_BODY_BYTES} bytes")
    if not request.body:
        return {}
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _error(400, "bad_json", 'send a JSON object, e.g. {"kind": "drop"}')
    if not isinstance(payload, dict):
        return _error(400, "bad_json", 'send a JSON object, e.g. {"kind": "drop"}')
    return payload


async def _conn(learner: str, value: Any) -> str | JsonResponse | None:
    """None for every connection of the learner; else one of theirs (anyone else's, or none: 404)."""
    if value is None or value == "all":
        return None
    if not isinstance(value, str) or not CONN_RE.match(value):
        return _error(400, "invalid", "conn must be a connection id (letters, digits, - and _, at most 40)")
    if not faults.registry.owns(learner, value) and not await faults.bus.known(learner, value):
        return _error(
            404, "unknown_connection", "no connection of yours has this id (is its pane connected?)"
        )
    return value


@require_http_methods(["GET", "POST"])
async def fault_list(request: HttpRequest) -> HttpResponse:
    """GET: the active faults and known connections; POST {kind, params, conn?}: inject one."""
    learner = await _learner(request)
    if isinstance(learner, HttpResponse):
        return learner
    if request.method == "GET":
        snapshot = faults.registry.snapshot(learner)
        local = {c["conn"] for c in snapshot["connections"]}
        for conn, transport in sorted((await faults.bus.connections(learner)).items()):
            if conn not in local:  # held by another Daphne process (REDIS_URL)
                snapshot["connections"].append({"conn": conn, "transport": transport, "open": True})
        return _ok(snapshot)
    payload = _payload(request)
    if isinstance(payload, HttpResponse):
        return payload
    conn = await _conn(learner, payload.get("conn"))
    if isinstance(conn, HttpResponse):
        return conn
    unknown = sorted(set(payload) - {"kind", "params", "conn"})
    if unknown:
        return _error(400, "invalid", f"unknown field: {', '.join(map(str, unknown))}")
    try:
        params = faults.validate(payload.get("kind"), payload.get("params"))
        plan = faults.registry.add(learner, payload["kind"], params, conn)
    except faults.FaultError as exc:
        return _error(400, "invalid", str(exc))
    await faults.bus.publish(  # the other Daphne processes (REDIS_URL) apply it to their connections
        op="add",
        learner=learner,
        kind=payload["kind"],
        params=params,
        conn=conn,
        id=plan.id if plan else None,
    )
    snapshot = faults.registry.snapshot(learner)
    fault = plan.as_dict(faults.clock()) if plan else {"kind": "drop", "params": {}, "conn": conn}
    return _ok({"fault": fault, **snapshot}, status=201)


@require_POST
async def fault_heal(request: HttpRequest) -> HttpResponse:
    """POST {} heals every fault of the learner; {"conn": id} one pane's; {"id": n} one fault."""
    learner = await _learner(request)
    if isinstance(learner, HttpResponse):
        return learner
    payload = _payload(request)
    if isinstance(payload, HttpResponse):
        return payload
    plan_id = payload.get("id")
    if plan_id is not None and (not isinstance(plan_id, int) or isinstance(plan_id, bool) or plan_id < 1):
        return _error(400, "invalid", "id must be a positive integer (a fault's id)")
    conn = await _conn(learner, payload.get("conn"))
    if isinstance(conn, HttpResponse):
        return conn
    healed = faults.registry.heal(learner, conn=conn, plan_id=plan_id)
    await faults.bus.publish(op="heal", learner=learner, conn=conn, id=plan_id)
    return _ok({"healed": healed, **faults.registry.snapshot(learner)})
