"""The operators' admin speaks zh-Hans: a sweep over every registered ModelAdmin.

What an operator reads on the admin's index and change lists is checked in Chinese:
each app's and model's name (singular and plural, inlines' too), the column headers
(``list_display``), the filters' titles and the choices they offer, and the actions'
descriptions. A name without a Chinese character fails, saying where it is. The
sweep is shown to catch a planted English name on a site of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, label_for_field
from django.db.models import Model
from django.utils import translation

from accounts.models import AuthSession
from redemption.models import Category

CJK = re.compile(r"[\u4e00-\u9fff]")
# Shown as they are in Chinese too (Django's own zh-Hans catalogue keeps "ID").
UNTRANSLATABLE = {"ID"}


def _filter_names(model: type[Model], model_admin: admin.ModelAdmin, item: Any) -> Iterator[str]:
    if isinstance(item, str | tuple):
        path = item if isinstance(item, str) else item[0]
        field = get_fields_from_path(model, path)[-1]
        yield str(field.verbose_name)
        for _value, label in getattr(field, "flatchoices", None) or []:
            yield str(label)
    else:  # a SimpleListFilter subclass
        yield str(item.title)
        for _value, label in item.lookups(item, None, model_admin) or []:
            yield str(label)


def admin_names(site: admin.AdminSite) -> Iterator[tuple[str, str]]:
    """(where, text) of every name the admin shows for ``site``'s models, translated
    in the active language."""
    for model, model_admin in site._registry.items():
        where = model._meta.label
        yield f"{where} app", str(model._meta.app_config.verbose_name)
        yield f"{where} verbose_name", str(model._meta.verbose_name)
        yield f"{where} verbose_name_plural", str(model._meta.verbose_name_plural)
        for inline in model_admin.inlines:
            yield f"{where} inline", str(inline.model._meta.verbose_name)
            yield f"{where} inline", str(inline.model._meta.verbose_name_plural)
        for name in model_admin.list_display:
            if name != "__str__":
                yield f"{where} list_display {name}", str(label_for_field(name, model, model_admin))
        for item in model_admin.list_filter:
            for text in _filter_names(model, model_admin, item):
                yield f"{where} list_filter {item}", text
        # Every action, whatever the operator's permissions (get_actions filters them).
        for _func, name, description in model_admin._get_base_actions():  # type: ignore[attr-defined]
            yield f"{where} action {name}", str(description)


def untranslated(site: admin.AdminSite) -> list[tuple[str, str]]:
    with translation.override("zh-hans"):
        return [
            (where, text)
            for where, text in admin_names(site)
            if text not in UNTRANSLATABLE and not CJK.search(text)
        ]


def test_every_name_in_the_admin_is_chinese() -> None:
    assert not untranslated(admin.site)


def test_the_sweep_sees_the_whole_admin() -> None:
    """It walks what is registered: the ledger, the mall, the merchants' desk."""
    with translation.override("zh-hans"):
        names = list(admin_names(admin.site))
    assert ("points.Transaction list_filter kind", "类型") in names
    assert ("tenants.Merchant list_filter status", "已停用") in names  # a choice
    assert ("redemption.Order action refund_orders", "退款所选订单（退回积分）") in names  # noqa: RUF001
    approve = dict(names)["tenants.MerchantApplication action approve"]
    assert approve.startswith("批准")
    assert len(names) > 200


class PlantedStatusFilter(admin.SimpleListFilter):
    title = "planted filter"
    parameter_name = "planted"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("x", "Planted choice")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset


def test_the_sweep_catches_a_planted_english_name() -> None:
    site = admin.AdminSite(name="planted")

    class PlantedAdmin(admin.ModelAdmin):
        list_display = ("name", "planted_column")
        list_filter = (PlantedStatusFilter,)
        actions = ("planted_action",)

        @admin.display(description="Planted column")
        def planted_column(self, obj: Category) -> str:
            return ""

        @admin.action(description="Planted action")
        def planted_action(self, request: Any, queryset: Any) -> None:
            pass

    site.register(Category, PlantedAdmin)
    site.register(AuthSession)  # translated names: none is reported
    found = {text for _where, text in untranslated(site)}
    assert found == {"Planted column", "planted filter", "Planted choice", "Planted action"}
