"""An aiohttp web handler tested in-process (no sockets)."""

import asyncio

from aiohttp import web
from aiohttp.test_utils import make_mocked_request


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"name": request.match_info.get("name", "x")})


def check_app():
    app = web.Application()
    app.router.add_get("/hi/{name}", hello)
    assert len(app.router.routes()) >= 1


def check_handler():
    request = make_mocked_request("GET", "/hi/ada", match_info={"name": "ada"})
    response = asyncio.run(hello(request))
    assert response.status == 200
