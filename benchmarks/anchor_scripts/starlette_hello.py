"""The HTTP floor: a bare Starlette route on uvicorn, as loopml's server runs it.

It reads the JSON body and answers a fixed JSON prediction: what any Starlette
application costs per request before it does any work of its own.

    python starlette_hello.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = b'{"predictions":[0]}'


async def invocations(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")


app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
