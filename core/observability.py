"""Optional error reports (Sentry) and traces (OpenTelemetry), both off by default.

Each is turned on by its variable alone, read from the environment (docs/operations.md):

- ``SENTRY_DSN``: errors (an unhandled exception in a view or a task, an ``ERROR`` log
  line) go to that Sentry project. Initialised by the settings, so the web processes,
  management commands and Celery all report. ``SENTRY_ENVIRONMENT``, ``SENTRY_RELEASE``
  and ``SENTRY_TRACES_SAMPLE_RATE`` (0 by default: errors only) refine it. No personal
  data is sent (``send_default_pii=False``: no cookies, no user, no IP address).
- ``OTEL_EXPORTER_OTLP_ENDPOINT``: a span per request (Django) and per task (Celery) is
  exported over OTLP/HTTP (protobuf) to that collector; the SDK reads the standard
  ``OTEL_*`` variables (``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_HEADERS``,
  ``OTEL_TRACES_SAMPLER``…). Initialised by ``config.wsgi``/``config.asgi`` before the
  application loads (the instrumentation adds a middleware) and in each Celery worker
  process after the fork (``config.celery``): a span exporter's thread does not survive
  a fork.

With neither variable set nothing is imported: the libraries cost nothing when off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

_sentry_on = False
_tracing_on = False


def init_sentry(environ: Mapping[str, str] | None = None) -> bool:
    """Start Sentry's SDK if ``SENTRY_DSN`` is set; whether it is on. Idempotent."""
    global _sentry_on
    env = os.environ if environ is None else environ
    dsn = env.get("SENTRY_DSN", "")
    if not dsn or _sentry_on:
        return _sentry_on
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=env.get("SENTRY_ENVIRONMENT") or None,
        release=env.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(env.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    _sentry_on = True
    return True


def init_tracing(service_name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Export traces over OTLP/HTTP if ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

    Returns the tracer provider (``force_flush``/``shutdown`` it to send what is
    buffered), or None when tracing is off. ``OTEL_SERVICE_NAME`` overrides
    ``service_name``. Idempotent.
    """
    global _tracing_on
    env = os.environ if environ is None else environ
    if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _tracing_on:
        return _provider() if _tracing_on else None
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and its headers.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(tracer_provider=provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _tracing_on = True
    return provider


def _provider() -> Any:
    from opentelemetry import trace

    return trace.get_tracer_provider()
