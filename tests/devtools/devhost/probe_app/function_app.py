"""A probe app for the local host's own tests: each function shows what the host hands it or does
with what it returns. It runs in the Python worker like the real app (`devtools.pyworker`); what it
sees goes to the JSON lines file named by PROBE_LOG, which the tests read.
"""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def note(kind: str, **fields: object) -> None:
    with open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"kind": kind, "at": time.time(), **fields}) + "\n")


@app.route(route="echo/{value}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route": dict(req.route_params),
        "headers": dict(req.headers),
        "body": req.get_body().decode("utf-8", "replace"),
    }
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.route(route="shapes/{kind}", methods=["GET"])
def shapes(req: func.HttpRequest) -> func.HttpResponse:
    kind = req.route_params["kind"]
    if kind == "json":
        return func.HttpResponse('{"a": 1}', mimetype="application/json", charset="utf-8")
    if kind == "text":
        return func.HttpResponse("plain")
    if kind in ("empty", "accepted"):
        return func.HttpResponse(status_code=204 if kind == "empty" else 202)
    response = func.HttpResponse("headers")
    if kind == "headers":
        response.headers.add_header("X-Probe", "first")
        response.headers.add_header("x-probe", "second")
    if kind == "cookies":
        response.headers.add_header("Set-Cookie", "session=abc; Path=/; HttpOnly")
        response.headers.add_header("Set-Cookie", 'theme="dark mode"; Max-Age=60; SameSite=Lax; Secure')
    return response


@app.event_grid_trigger(arg_name="event")
def grid(event: func.EventGridEvent) -> None:
    data = event.get_json() or {}
    note("grid", id=event.id, event_type=event.event_type)
    time.sleep(float(data.get("sleep", 0)))
    note("grid-done", id=event.id)
    if data.get("fail"):
        raise RuntimeError(f"probe event {event.id} fails")


@app.event_grid_trigger(arg_name="event")
def grid_returns(event: func.EventGridEvent):
    note("grid_returns", id=event.id)
    return "a value the host has no binding for"


@app.timer_trigger(schedule="%PROBE_TICK%", arg_name="timer", run_on_startup=True, use_monitor=False)
def tick(timer: func.TimerRequest) -> None:
    note("tick", past_due=timer.past_due)


@app.timer_trigger(schedule="0 30 2 * * *", arg_name="timer")
def nightly(timer: func.TimerRequest) -> None:
    note("nightly", past_due=timer.past_due, status=timer.schedule_status)


@app.activity_trigger(input_name="payload")
def probe_activity(payload: str) -> str:
    note("probe_activity", payload=payload)
    return payload


@app.orchestration_trigger(context_name="context")
def probe_orchestrator(context: df.DurableOrchestrationContext):
    note("probe_orchestrator")
    return
