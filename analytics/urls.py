"""The analytics and liability CSV files, from signed links (analytics/downloads.py)."""

from django.urls import path

from analytics import downloads

urlpatterns = [
    path("analytics/<str:token>/", downloads.merchant_csv, name="analytics-csv"),
    path("platform-analytics/<str:token>/", downloads.platform_csv, name="platform-analytics-csv"),
    path("liability/<str:token>/", downloads.liability_csv, name="liability-csv"),
]
