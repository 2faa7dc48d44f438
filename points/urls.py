"""The statement's CSV file, from a signed link (points/downloads.py)."""

from django.urls import path

from points import downloads

urlpatterns = [
    path("ledger/<str:token>/", downloads.ledger_csv, name="ledger-csv"),
]
