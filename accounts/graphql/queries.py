"""Consumer API: ``me``."""

from __future__ import annotations

from typing import Any

import graphene

from accounts.graphql.types import Consumer, WeChatJsConfig
from accounts.models import User
from core import wechat
from core.wechat import WeChatError, jsapi

# An address longer than this is no page of ours.
MAX_URL_LENGTH = 2000


class ConsumerQueries(graphene.ObjectType):
    me = graphene.Field(Consumer, description="The signed-in consumer, or null.")

    @staticmethod
    def resolve_me(root: Any, info: graphene.ResolveInfo) -> User | None:
        user = info.context.user
        return user if user.is_authenticated and user.is_consumer else None

    we_chat_js_config = graphene.Field(
        WeChatJsConfig,
        name="weChatJsConfig",
        url=graphene.String(
            required=True,
            description="The page's address as the browser has it (`location.href`); "
            "the part after `#` is not signed. At most 2000 characters.",
        ),
        description="The signed JS-SDK configuration (`wx.config`) of a page inside WeChat; "
        "null when WeChat is not configured or cannot be reached (the page works without it).",
    )

    @staticmethod
    def resolve_we_chat_js_config(
        root: Any, info: graphene.ResolveInfo, url: str
    ) -> jsapi.JsConfig | None:
        if not wechat.enabled() or len(url) > MAX_URL_LENGTH:
            return None
        if not url.startswith(("https://", "http://")):
            return None
        try:
            return jsapi.config(url)
        except WeChatError:
            # Location and sharing are extras: the scan works without them.
            return None
