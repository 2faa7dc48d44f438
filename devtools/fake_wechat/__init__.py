"""The local fake of WeChat's servers (``server.FakeWeChat``), with every area's routes.

Importing the package registers every endpoint; ``python -m devtools.fake_wechat`` runs
one for the demo.
"""

from devtools.fake_wechat import oauth

# After oauth: the JS-SDK area adds its own routes.
from devtools.fake_wechat import jsapi  # isort: skip

# Imported after every other area: it serves ``connect/oauth2/authorize`` when called
# with ``component_appid`` and hands the other requests to the handler registered before.
from devtools.fake_wechat import component  # isort: skip
from devtools.fake_wechat import follow  # isort: skip
from devtools.fake_wechat.server import FakeError, FakeWeChat, Request, Response, route

__all__ = [
    "FakeError",
    "FakeWeChat",
    "Request",
    "Response",
    "component",
    "follow",
    "jsapi",
    "oauth",
    "route",
]
