"""``ordersync ui``: a read-only dashboard of ordersync's own tables, server-rendered.

``data`` reads what the pages show, ``chart`` draws the batches-over-time chart as inline SVG,
``render`` holds the Jinja2 environment (autoescaped templates shipped in the package, no
CDN), ``app`` is the WSGI app (werkzeug) with its token check and ``/metrics``.
"""

from ordersync.ui.app import Dashboard, check_bind, mount_dashboard, serve_dashboard

__all__ = ["Dashboard", "check_bind", "mount_dashboard", "serve_dashboard"]
