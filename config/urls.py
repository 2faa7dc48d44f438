from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from analytics.operator import platform_analytics
from api.schema import consumer_schema, merchant_schema
from api.views import ApiView
from campaigns.exports.views import download_export
from campaigns.follow.views import account_messages
from campaigns.questionnaires.views import download_questionnaire_export
from redemption.views import download_settlement
from tenants.views import component_events

urlpatterns = [
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
    # A supplier's monthly settlement CSV, from the signed link the merchant API gives.
    path(
        "mall/settlements/<str:token>/",
        download_settlement,
        name="mall-settlement-download",
    ),
    # Analytics and liability CSV files, from signed links (analytics/downloads.py).
    path("reports/", include("analytics.urls")),
    # The operators' analytics page: staff only, through the admin's own login.
    path(
        "admin/platform-analytics/",
        admin.site.admin_view(platform_analytics),
        name="admin-platform-analytics",
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
