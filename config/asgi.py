import os

from django.core.asgi import get_asgi_application

from core.observability import init_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (as config.wsgi).
init_tracing("loyalty-web")
application = get_asgi_application()
