from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from points import ledger, services
from tenants.models import Merchant


class Command(BaseCommand):
    help = (
        "Credit a merchant's budget for money received (--money) or goods consigned "
        "(--goods). Idempotent per reference: a retry credits nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--money", action="store_true", help="a payment was received")
        source.add_argument("--goods", action="store_true", help="goods were consigned")
        parser.add_argument(
            "--amount-minor",
            type=int,
            required=True,
            help="money or agreed goods value, in fen/cents",
        )
        parser.add_argument("--currency", default="CNY")
        parser.add_argument("--rate", required=True, help="points per major currency unit")
        parser.add_argument("--reference", required=True, help="payment or receipt reference")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug=options["slug"]).first()
        if merchant is None:
            raise CommandError(f"MERCHANT_NOT_FOUND: no merchant with slug {options['slug']!r}")
        try:
            if options["money"]:
                funding = services.fund_with_money(
                    merchant,
                    amount_minor=options["amount_minor"],
                    currency=options["currency"],
                    rate=options["rate"],
                    payment_reference=options["reference"],
                )
            else:
                funding = services.fund_with_goods(
                    merchant,
                    value_minor=options["amount_minor"],
                    currency=options["currency"],
                    rate=options["rate"],
                    receipt_reference=options["reference"],
                    description=options["description"],
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        balance = ledger.balance_of(ledger.merchant_budget(merchant.pk))
        self.stdout.write(
            self.style.SUCCESS(
                f"funding #{funding.pk}: {funding.points} points to {merchant.slug}; "
                f"budget now {balance}"
            )
        )
