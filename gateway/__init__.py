"""Serving: settings, the Starlette app, and the `insights-gateway` command line."""
