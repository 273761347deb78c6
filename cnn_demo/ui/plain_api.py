"""The plain HTTP API: one request per answer, for `curl` and scripts.

    curl --data-binary @digit.png "http://127.0.0.1:7860/api/classify?model=lenet5"

Gradio's own API costs a caller three requests per answer (upload the file, join the queue,
read the result stream) and the server a session per sessionless call; on the 2-core
machine it tops out near 35 answers a second. This route takes the image as the request
body and answers with the same `{"0": p0, …, "9": p9}` as `/classify`, through the same core
function and bounds: the body is size-checked by the guard before it is read, at most
`WORKERS` answers are computed at once, and when `WAITING` more wait the next is refused
(503) at once. Every refusal is `{"error": sentence}`.
"""
from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..analyse import InputError, classify_file
from ..registry import Registry, UnknownCheckpoint

PATH = "/api/classify"
WORKERS, WAITING = 4, 64


def route(registry: Registry) -> Route:
    limiter = anyio.CapacityLimiter(WORKERS)
    waiting = [0]

    async def classify(request: Request) -> JSONResponse:
        model = request.query_params.get("model", "lenet5").strip() or "lenet5"
        if waiting[0] >= WAITING:
            return JSONResponse({"error": "The server is busy; try again in a moment."}, status_code=503)
        waiting[0] += 1
        try:
            body = await request.body()
            if not body:
                return JSONResponse({"error": "No image: send the image file as the request body."}, status_code=400)
            try:
                entry = registry.get(model)
            except UnknownCheckpoint as e:
                return JSONResponse({"error": str(e)}, status_code=404)
            try:
                probs = await anyio.to_thread.run_sync(classify_file, body, entry, limiter=limiter)
            except InputError as e:
                return JSONResponse({"error": str(e)}, status_code=422)
            return JSONResponse(probs)
        finally:
            waiting[0] -= 1

    return Route(PATH, classify, methods=["POST"])


def mount(app, registry: Registry) -> None:
    """Put the route first on Gradio's app (after launch; Starlette matches routes in order)."""
    app.router.routes.insert(0, route(registry))
