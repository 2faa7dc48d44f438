from django.urls import URLPattern, path

from frontend.console.views import page

urlpatterns: list[URLPattern] = [
    path("", page("dashboard"), name="console-dashboard"),
    path("sign-in/", page("sign_in"), name="console-sign-in"),
    path("sign-up/", page("sign_up"), name="console-sign-up"),
    path("accept-invitation/", page("accept_invitation"), name="console-accept-invitation"),
    path("campaigns/", page("campaigns"), name="console-campaigns"),
    # Objects are named by global ID in the query string (?id=): IDs are base64.
    path("campaign/", page("campaign"), name="console-campaign"),
    # A scan campaign's code imports (?campaign=<global id>).
    path("imports/", page("imports"), name="console-imports"),
    path("questionnaire/", page("questionnaire"), name="console-questionnaire"),
    path("questionnaire/new/", page("questionnaire"), name="console-questionnaire-new"),
    path("questionnaire/results/", page("results"), name="console-results"),
    path("follow/", page("follow"), name="console-follow"),
    path("goods/", page("goods"), name="console-goods"),
    path("ledger/", page("ledger"), name="console-ledger"),
    path("earning/", page("earning"), name="console-earning"),
    path("scans/", page("scans"), name="console-scans"),
    path("dealers/", page("dealers"), name="console-dealers"),
    path("diversion/", page("diversion"), name="console-diversion"),
    path("staff/", page("staff"), name="console-staff"),
    path("webhooks/", page("webhooks"), name="console-webhooks"),
    path("api-keys/", page("api_keys"), name="console-api-keys"),
    path("audit/", page("audit"), name="console-audit"),
    # WeChat's authorisation page comes back here (?state=&auth_code=).
    path("wechat/", page("wechat"), name="console-wechat"),
]
