"""Sentry and OpenTelemetry: off by default, on with their one variable (issue 24).

Each case runs a fresh Python process (the SDKs are process-wide) against a local fake
of the receiving service: an HTTP server that keeps what it is sent. With ``SENTRY_DSN``
a view's unhandled error arrives as an envelope carrying that exception; with
``OTEL_EXPORTER_OTLP_ENDPOINT`` a request through ``config.wsgi`` arrives as an
OTLP/HTTP (protobuf) span of the service.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

ROOT = Path(__file__).resolve().parent.parent


class Received:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    """A local HTTP server that answers 200 to every POST and keeps its body."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli

                body = brotli.decompress(body)
            headers = {key.lower(): value for key, value in self.headers.items()}
            received.requests.append((self.path, headers, body))
            reply = (
                ExportTraceServiceResponse().SerializeToString()
                if self.path == "/v1/traces"
                else b"{}"
            )
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def run(script: str, **env: str) -> str:
    """``script`` in a fresh interpreter with the test settings and only ``env`` of
    the observability variables; its standard output."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "OTEL_"))}
    environ.update(env, DJANGO_SETTINGS_MODULE="config.settings_test", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_both_are_off_by_default() -> None:
    out = run(
        "import sys, django; django.setup()\n"
        "from django.conf import settings\n"
        "import config.wsgi, config.celery\n"
        "from celery.signals import worker_process_init\n"
        "worker_process_init.send(sender=None)\n"
        "from opentelemetry import trace\n"
        "print(settings.SENTRY_ENABLED, 'sentry_sdk' in sys.modules,"
        " type(trace.get_tracer_provider()).__name__,"
        " any('opentelemetry' in m for m in settings.MIDDLEWARE))\n"
    )
    # (redis-py imports OpenTelemetry's SDK itself when installed: the provider tells.)
    assert out.split() == ["False", "False", "ProxyTracerProvider", "False"]


SENTRY_SCRIPT = """
import django
from django.urls import path

def boom(request):
    raise RuntimeError("observability-test-boom")

django.setup()
import config.urls

urlpatterns = [path("boom", boom), *config.urls.urlpatterns]
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
import sentry_sdk

assert settings.SENTRY_ENABLED
with override_settings(ROOT_URLCONF="__main__"):
    status = Client(raise_request_exception=False).get("/boom").status_code
sentry_sdk.flush(timeout=20)
print(status)
"""


def test_with_a_dsn_an_unhandled_error_reaches_sentry(receiver: tuple[str, Received]) -> None:
    url, received = receiver
    host = url.removeprefix("http://")
    out = run(SENTRY_SCRIPT, SENTRY_DSN=f"http://publickey@{host}/42", SENTRY_ENVIRONMENT="test")
    assert out.split() == ["500"]
    events = []
    for path, _headers, body in received.requests:
        assert path == "/api/42/envelope/"
        lines = body.split(b"\n")
        # An envelope: its header, then (item header, payload) pairs.
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    [event] = events
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "observability-test-boom")
    assert event["environment"] == "test"
    assert "user" not in event or not event["user"].get("ip_address")  # no personal data


OTEL_SCRIPT = """
from wsgiref.util import setup_testing_defaults
from config.wsgi import application
from core.observability import init_tracing

statuses = []
environ = {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}
setup_testing_defaults(environ)
body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
provider = init_tracing("unused: already on")
provider.force_flush()
provider.shutdown()
print(statuses[0].split()[0], body.decode())
"""


def test_with_an_endpoint_requests_are_traced_over_otlp_http(
    receiver: tuple[str, Received],
) -> None:
    url, received = receiver
    out = run(OTEL_SCRIPT, OTEL_EXPORTER_OTLP_ENDPOINT=url)
    assert out.split() == ["200", '{"status":', '"ok"}']
    spans = []
    for path, headers, body in received.requests:
        assert path == "/v1/traces"
        assert headers["content-type"] == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                spans += [(attributes["service.name"], s.name) for s in scope_spans.spans]
    assert spans == [("loyalty-web", "GET healthz")]
