"""monday's call timeout and the client's, and the API version and user agent the client sends
(a module of its own so that the configuration can name them without importing the HTTP
client: ``ordersync --help`` stays fast)."""

SERVER_TIMEOUT = 60.0
"""monday ends a call after 60 s (FACTS.md "Limits")."""
REQUEST_TIMEOUT = 50.0
"""The client's timeout: below the server's, so a retry never arrives while the first
request may still run (the case that earns 409s)."""

API_VERSION = "2026-10"
"""The ``API-Version`` header (``[delivery] api_version`` overrides it)."""
USER_AGENT = "ordersync/0.1"
"""The ``User-Agent`` header."""
