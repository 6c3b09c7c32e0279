"""HTTP serving and fault injection for the in-process API emulators (`grafana_emulator`).

`serve(emulator)` runs a threaded HTTP/1.1 server on 127.0.0.1:<free port> that hands each request to
`emulator._handle(method, path, headers, body) -> (status, json_body, headers)`, after consulting
`emulator.faults` (a `FaultPlan`) the way a proxy or load balancer in front of the real server would: before
authentication, able to fail, drop or delay a request. Every request is logged (`RecordedRequest`).
"""

from __future__ import annotations

import http
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # the emulator imports this module
    from airflow_dash.testing.grafana_emulator import GrafanaEmulator

__all__ = ["FaultPlan", "RecordedRequest", "EmulatorServer", "EmulatorHandler"]


_J = TypeVar("_J")


def json_copy(value: _J) -> _J:
    """A deep copy of JSON-shaped data (dicts, lists, tuples of scalars): what copy.deepcopy gives for it, at
    a fraction of the cost (deepcopy was half of the emulator's time per dashboard save, which a benchmark
    against the emulator would count against the client)."""
    return cast(_J, _copied(value))


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_copied(item) for item in value)
    return value


class RecordedRequest(NamedTuple):
    """One request as the emulator saw it. ``status`` is None when the connection was dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None
    had_auth: bool
    arrived: float = 0.0  # time.monotonic() when its body had been read (before any latency)


@dataclass(frozen=True)
class _FaultRule:
    kind: str  # "fail" | "drop" | "slow"
    path_prefix: str | None
    method: str | None
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    after_apply: bool = False

    def matches(self, method: str, path: str) -> bool:
        return ((self.path_prefix is None or path.startswith(self.path_prefix))
                and (self.method is None or self.method.upper() == method))


class FaultPlan:
    """Thread-safe fault injection, consulted once per request before anything else.

    One-shot rules (``fail_next``, ``drop_next``, ``slow_next``) are checked in the order they
    were added and consumed when they match; ``fail_always`` rules apply afterwards until
    :meth:`clear`. ``latency``: every answer leaves ``latency`` seconds after its request arrived,
    like a network round trip; the request is applied on arrival, so the emulator's own work is inside
    that time instead of added to it (a benchmark against the emulator measures the client, not the
    emulator's Python).

    ``slow_next`` still *applies* the request and only delays the response, like a real
    overloaded server: a client that times out cannot know whether its write landed, and
    tests of retry logic must cope with that. ``fail_next`` never applies the request.
    ``drop_next`` does not apply it either unless ``after_apply=True`` (response lost).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._pending: list[list[Any]] = []  # [rule, remaining count]
        self._always: list[_FaultRule] = []

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = float(seconds)

    def fail_next(self, n: int = 1, status: int = 503, path_prefix: str | None = None,
                  retry_after: float | int | str | None = None, *, method: str | None = None) -> None:
        """The next ``n`` matching requests get ``status`` with a JSON body and are not applied."""
        self._add(n, _FaultRule("fail", path_prefix, method, status=status,
                                retry_after=None if retry_after is None else str(retry_after)))

    def drop_next(self, n: int = 1, path_prefix: str | None = None, *, method: str | None = None,
                  after_apply: bool = False) -> None:
        """The next ``n`` matching requests get their connection closed without any response."""
        self._add(n, _FaultRule("drop", path_prefix, method, after_apply=after_apply))

    def slow_next(self, n: int, seconds: float, path_prefix: str | None = None, *,
                  method: str | None = None) -> None:
        """The next ``n`` matching requests are applied, then answered after ``seconds``."""
        self._add(n, _FaultRule("slow", path_prefix, method, seconds=float(seconds)))

    def fail_always(self, status: int = 503, path_prefix: str | None = None, *,
                    method: str | None = None, retry_after: float | int | str | None = None) -> None:
        """Every matching request fails with ``status`` until :meth:`clear`."""
        with self._lock:
            self._always.append(_FaultRule("fail", path_prefix, method, status=status,
                                           retry_after=None if retry_after is None else str(retry_after)))

    def clear(self) -> None:
        """Remove every fault, including latency."""
        with self._lock:
            self._latency = 0.0
            self._pending.clear()
            self._always.clear()

    def _add(self, n: int, rule: _FaultRule) -> None:
        if n < 1:
            raise ValueError("n must be >= 1")
        with self._lock:
            self._pending.append([rule, n])

    def _take(self, method: str, path: str) -> _FaultRule | None:
        with self._lock:
            for entry in self._pending:
                rule: _FaultRule = entry[0]
                if rule.matches(method, path):
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._pending.remove(entry)
                    return rule
            for rule in self._always:
                if rule.matches(method, path):
                    return rule
        return None



def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"



# --------------------------------------------------------------------------- HTTP plumbing


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when a publisher opens 8+ connections at once,
    # which costs a 1 s TCP retransmit: not something a real Grafana would do.
    request_queue_size = 128
    emulator: GrafanaEmulator  # the state behind the routes, set by GrafanaEmulator.start


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Grafana behind a client session
    server_version = "grafana-emulator"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.emulator._requests_lock:
            self.server.emulator._open_sockets.add(self.connection)
            self.server.emulator.connections_opened += 1

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.emulator._requests_lock:
            self.server.emulator._open_sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        arrived = time.monotonic()
        split = urlsplit(self.path)

        def record(status: int | None) -> None:
            emulator._record(RecordedRequest(method, split.path, parse_qs(split.query, keep_blank_values=True),
                                             status, bool(self.headers.get("Authorization")), arrived))

        latency = emulator.faults.latency

        def latency_over() -> bool:
            """Wait until `latency` after the request arrived; False if the emulator stops meanwhile."""
            rest = latency - (time.monotonic() - arrived)
            return not (rest > 0 and emulator._stopping.wait(rest))

        rule = emulator.faults._take(method, split.path)
        if rule is not None and rule.kind == "drop":
            if rule.after_apply:
                emulator._handle(method, self.path, self.headers, body)
            record(None)
            latency_over()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if rule is not None and rule.kind == "fail":
            status = rule.status
            payload: Any = {"message": _reason(status)}
            headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
        else:
            status, payload, headers = emulator._handle(method, self.path, self.headers, body)
        record(status)
        data = b"" if status == 204 else json.dumps(payload).encode()  # 204 No Content carries no body
        if not latency_over() or (rule is not None and rule.kind == "slow" and emulator._stopping.wait(rule.seconds)):
            self.close_connection = True
            return
        self._respond(status, data, headers)

    def _respond(self, status: int, data: bytes, headers: dict[str, Any]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (read timeout): nothing left to tell it
            self.close_connection = True
