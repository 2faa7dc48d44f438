from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from analytics.operator import platform_analytics
from analytics.support import consumer_support
from api.schema import consumer_schema, merchant_schema
from api.views import ApiView
from campaigns.exports.views import download_export
from campaigns.follow.views import account_messages
from campaigns.questionnaires.views import download_questionnaire_export
from campaigns.scan.import_views import download_import_report, upload_import_file
from core.health import healthz, readyz
from privacy.views import download_data_copy
from redemption.views import download_settlement
from tenants.views import component_events, upload_logo

# The admin is the operators' console: it carries the platform's name (zh-Hans first),
# the brand's own when PLATFORM_NAME is set.
admin.site.site_header = settings.PLATFORM_NAME or _("Loyalty platform operations")
admin.site.site_title = settings.PLATFORM_NAME or _("Loyalty platform operations")
admin.site.index_title = _("Operations")

urlpatterns = [
    # Liveness and readiness for load balancers and orchestrators (core/health.py).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Bearer-token APIs: no cookie authenticates them (ApiView), so CSRF does not apply.
    path("graphql/", csrf_exempt(ApiView.as_view(schema=consumer_schema)), name="consumer-api"),
    path(
        "merchant/graphql/",
        csrf_exempt(ApiView.as_view(schema=merchant_schema, merchant_api=True)),
        name="merchant-api",
    ),
    # Questionnaire response exports and posters, from signed links (15 minutes).
    path(
        "questionnaire-exports/<str:token>/",
        download_questionnaire_export,
        name="questionnaire-export-download",
    ),
    # A rendered batch export, from the signed link the merchant API gives (15 minutes).
    path("exports/<str:token>/", download_export, name="batch-export-download"),
    # A code import's file, sent to the signed link the merchant API gives (an hour),
    # and the report of its refused lines (15 minutes).
    path("code-imports/<str:token>/file", upload_import_file, name="code-import-upload"),
    # The merchant's logo, sent to the signed link the merchant API gives (15 minutes).
    path("merchant-logo/<str:token>/file", upload_logo, name="merchant-logo-upload"),
    path(
        "code-imports/<str:token>/report.csv",
        download_import_report,
        name="code-import-report",
    ),
    # A supplier's monthly settlement CSV, from the signed link the merchant API gives.
    path(
        "mall/settlements/<str:token>/",
        download_settlement,
        name="mall-settlement-download",
    ),
    # A consumer's copy of their data (PIPL), from the signed link the consumer API gives.
    path("data-copies/<str:token>/", download_data_copy, name="data-copy-download"),
    # Analytics and liability CSV files, from signed links (analytics/downloads.py).
    path("reports/", include("analytics.urls")),
    # The merchant's statement as CSV, from a signed link (points/downloads.py).
    path("reports/", include("points.urls")),
    # The operators' analytics page: staff only, through the admin's own login.
    path(
        "admin/platform-analytics/",
        admin.site.admin_view(platform_analytics),
        name="admin-platform-analytics",
    ),
    # One consumer on one screen for support (analytics/support.py).
    path(
        "admin/consumers/<int:user_id>/support/",
        admin.site.admin_view(consumer_support),
        name="admin-consumer-support",
    ),
    path("admin/", admin.site.urls),
    # WeChat's pushes to our third-party platform (verify ticket, authorisations).
    path("wechat/component/events", component_events, name="wechat-component-events"),
    # Every authorised official account's messages and events (follow campaigns).
    path(
        "wechat/component/<str:app_id>/messages",
        account_messages,
        name="wechat-account-messages",
    ),
    # The merchant console and the consumer web (the consumer's is the root: its home,
    # /s/<code> that printed QR codes open and /q/<link> of questionnaire posters).
    path("console/", include("frontend.console.urls")),
    path("", include("frontend.consumer.urls")),
]
