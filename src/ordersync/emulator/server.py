"""How the app reaches a client: an in-process httpx transport, or a real threaded HTTP server.

Both run the same WSGI app. They differ only in how a transport fault marked by the app
(``X-Emulator-Fault``) becomes real: in-process, the transport raises
``httpx.RemoteProtocolError`` (lost answer) or ``httpx.ReadTimeout``; over HTTP, the server
closes the connection without answering (after holding it ``delay`` seconds for a timeout).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ordersync.emulator.app import FAULT_DELAY_HEADER, FAULT_HEADER, NETWORK_ENVIRON_KEY

WSGIApp = Any


class InProcessTransport(httpx.BaseTransport):
    """Runs requests through the emulator's WSGI app in this process (sync)."""

    def __init__(self, app: WSGIApp) -> None:
        self._wsgi = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._wsgi.handle_request(request)
        fault = response.headers.get(FAULT_HEADER)
        if fault == "lost_response":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if fault == "timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return response

    def close(self) -> None:
        self._wsgi.close()


class NetworkApp:
    """Wraps the app for a real server: adds latency, turns fault marks into dropped sockets."""

    def __init__(self, app: WSGIApp, latency: float = 0.0) -> None:
        self._app = app
        self._latency = latency

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ[NETWORK_ENVIRON_KEY] = True
        if self._latency > 0:
            time.sleep(self._latency)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self._app(environ, capture))
        headers = dict(captured["headers"])
        fault = headers.get(FAULT_HEADER)
        sock = environ.get("werkzeug.socket")
        if fault and sock is not None:
            if fault == "timeout":
                time.sleep(float(headers.get(FAULT_DELAY_HEADER, 0)))
            sock.shutdown(socket.SHUT_RDWR)
            # werkzeug treats this as a dropped connection and sends nothing.
            raise ConnectionAbortedError(f"emulated {fault}")
        start_response(captured["status"], captured["headers"])
        return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass(frozen=True)
class RunningServer:
    """A server started by ``Emulator.serve``."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v2"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def make_http_server(
    app: WSGIApp, host: str, port: int, *, latency: float = 0.0, quiet: bool = True
) -> BaseWSGIServer:
    handler = _QuietHandler if quiet else WSGIRequestHandler
    return make_server(host, port, NetworkApp(app, latency), threaded=True, request_handler=handler)


@contextmanager
def serve_in_thread(
    app: WSGIApp, host: str, port: int, latency: float = 0.0
) -> Iterator[RunningServer]:
    """Serve ``app`` over HTTP from a background thread until the block ends."""
    server = make_http_server(app, host, port, latency=latency)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="monday-emulator"
    )
    thread.daemon = True
    thread.start()
    try:
        yield RunningServer(host, server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
