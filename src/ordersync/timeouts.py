"""monday's call timeout and the client's (a module of its own so that the configuration can
name them without importing the HTTP client: ``ordersync --help`` stays fast)."""

SERVER_TIMEOUT = 60.0
"""monday ends a call after 60 s (FACTS.md "Limits")."""
REQUEST_TIMEOUT = 50.0
"""The client's timeout: below the server's, so a retry never arrives while the first
request may still run (the case that earns 409s)."""
