# Only the base classes that our strict modules subclass are declared, so that a subclass
# of them is a class of ours and not of `Any`; every other name of graphene (fields,
# scalars, ResolveInfo, relay, ...) stays untyped (Any), as without this stub.
from typing import Any

def __getattr__(name: str) -> Any: ...

class ObjectType:
    # Set by graphene's metaclass from the class's Meta.
    _meta: Any
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
