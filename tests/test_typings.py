"""The partial stubs of graphene and graphene-django (typings/) cannot drift: every class
they declare exists in the installed library, with the bases the stub gives it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

TYPINGS = Path(__file__).resolve().parent.parent / "typings"

# Set by graphene's metaclass on each subclass, not on the base class itself.
SET_ON_SUBCLASSES = {"_meta"}


@pytest.mark.parametrize("package", ["graphene", "graphene_django"])
def test_each_class_of_the_stub_exists_with_its_bases(package: str) -> None:
    stub = ast.parse((TYPINGS / package / "__init__.pyi").read_text())
    module = importlib.import_module(package)
    graphene = importlib.import_module("graphene")
    classes = [node for node in stub.body if isinstance(node, ast.ClassDef)]
    assert classes
    for node in classes:
        real = getattr(module, node.name)
        assert isinstance(real, type), node.name
        for base in node.bases:
            assert isinstance(base, ast.Name)  # the stubs name their bases plainly
            assert issubclass(real, getattr(graphene, base.id)), (node.name, base.id)
        for member in node.body:
            name = (
                member.name
                if isinstance(member, ast.FunctionDef)
                else member.target.id
                if isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name)
                else None
            )
            if name is not None and name not in SET_ON_SUBCLASSES:
                assert hasattr(real, name), f"{node.name}.{name}"
