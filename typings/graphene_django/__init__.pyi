# Only DjangoObjectType is declared (see typings/graphene/__init__.pyi); graphene-django's
# other names stay untyped (Any).
from typing import Any

from graphene import ObjectType

def __getattr__(name: str) -> Any: ...

class DjangoObjectType(ObjectType): ...
