"""The consumer web's addresses (mounted at the site root by ``config.urls``).

``/s/<code>`` is what printed QR codes encode and ``/q/<link>`` what questionnaire
posters encode: both are public contracts and never move.
"""

from django.urls import URLPattern, path

from frontend.consumer import prizes, views, wechat

urlpatterns: list[URLPattern] = [
    path("", views.wallet_page, name="wallet"),
    path("s/<str:code>", views.scan_page, name="scan"),
    path("v/<str:code>", views.verify_page, name="verify"),
    path("scan", views.camera_page, name="camera"),
    path("q/<str:link>", views.questionnaire_page, name="questionnaire"),
    path("earn", views.earn_page, name="earn"),
    # A follow campaign's page, and the official account's reply link (follow campaigns).
    path("follow/<str:link>", views.follow_page, name="follow"),
    path("f/<str:token>", views.follow_reply_page, name="follow-reply"),
    # The console's preview of a campaign's page: a signed link, 15 minutes (0324).
    path("preview/<str:token>", views.campaign_preview_page, name="campaign-preview"),
    path("mall", views.mall_page, name="mall"),
    path("mall/<int:pk>", views.product_page, name="product"),
    path("mall/<int:pk>/redeem", views.redeem_page, name="redeem"),
    path("orders", views.orders_page, name="orders"),
    path("addresses", views.addresses_page, name="addresses"),
    path("my-data", views.my_data_page, name="my-data"),
    # The address picker's divisions: the provinces, then one province's cities and
    # districts (decision 0240).
    path("regions/", views.regions_json, name="regions"),
    path("regions/<str:code>", views.regions_json, name="regions-province"),
    # WeChat's OAuth on a merchant's behalf comes back here (?code=&state=).
    path("wechat/merchant-openid", views.merchant_openid_page, name="wechat-merchant-openid"),
    path("terms", views.terms_page, name="terms"),
    path("privacy", views.privacy_page, name="privacy"),
    # A prize campaign's public verifier and its draw log (frontend/consumer/prizes.py).
    path("prizes/<int:merchant_id>/<int:campaign_id>", prizes.verify_page, name="prize-verify"),
    path("prizes/<int:merchant_id>/<int:campaign_id>/log.json", prizes.log_json, name="prize-log"),
    # Sign-in inside WeChat (OAuth web authorisation): the binding flow relies on
    # ``wechat-signin`` taking ``next`` and coming back to it with ``#wx=<ticket>``.
    path("wechat/signin", wechat.signin, name="wechat-signin"),
    path("wechat/callback", wechat.callback, name="wechat-callback"),
]
