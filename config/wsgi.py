import os

from django.core.wsgi import get_wsgi_application

from core.observability import init_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; before the application loads, whose
# middleware the instrumentation extends (Sentry starts with the settings).
init_tracing("loyalty-web")
application = get_wsgi_application()
