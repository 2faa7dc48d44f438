from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from config.schema import consumer_schema, merchant_schema
from config.views import ApiView

urlpatterns = [
    # Bearer-token APIs: no cookie authenticates them (ApiView), so CSRF does not apply.
    path("graphql/", csrf_exempt(ApiView.as_view(schema=consumer_schema)), name="consumer-api"),
    path(
        "merchant/graphql/",
        csrf_exempt(ApiView.as_view(schema=merchant_schema)),
        name="merchant-api",
    ),
    path("admin/", admin.site.urls),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
]
