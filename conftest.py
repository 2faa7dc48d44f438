"""The shared fixtures live in ``tests/fixtures/`` as pytest plugins.

Registered here, at the root, because pytest accepts ``pytest_plugins`` only in the
root conftest; each module's docstring says what it provides.
"""

pytest_plugins = [
    "tests.fixtures.tenants",
    "tests.fixtures.api",
    "tests.fixtures.concurrency",
    "tests.fixtures.processes",
    "tests.fixtures.postgres",
    "tests.fixtures.wechat",
]
