"""The local fake of WeChat's servers (``server.FakeWeChat``), with every area's routes.

Importing the package registers every endpoint; ``python -m devtools.fake_wechat`` runs
one for the demo.
"""

from devtools.fake_wechat import jsapi, oauth
from devtools.fake_wechat.server import FakeError, FakeWeChat, Request, Response, route

__all__ = ["FakeError", "FakeWeChat", "Request", "Response", "jsapi", "oauth", "route"]
