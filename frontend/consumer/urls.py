"""The consumer web's addresses (mounted at the site root by ``config.urls``).

``/s/<code>`` is what printed QR codes encode and ``/q/<link>`` what questionnaire
posters encode: both are public contracts and never move.
"""

from django.urls import URLPattern, path

from frontend.consumer import views

urlpatterns: list[URLPattern] = [
    path("", views.wallet_page, name="wallet"),
    path("s/<str:code>", views.scan_page, name="scan"),
    path("scan", views.camera_page, name="camera"),
    path("q/<str:link>", views.questionnaire_page, name="questionnaire"),
    path("mall", views.mall_page, name="mall"),
    path("mall/<int:pk>", views.product_page, name="product"),
    path("mall/<int:pk>/redeem", views.redeem_page, name="redeem"),
    path("orders", views.orders_page, name="orders"),
    path("addresses", views.addresses_page, name="addresses"),
    # WeChat's OAuth on a merchant's behalf comes back here (?code=&state=).
    path("wechat/merchant-openid", views.merchant_openid_page, name="wechat-merchant-openid"),
]
