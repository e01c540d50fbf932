"""Serving over HTTP: settings, the ASGI app, its workers, request deadlines, metrics and the log format."""
