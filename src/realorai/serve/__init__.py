"""Serving: the HTTP API, the web page and ``realorai serve``."""

from realorai.serve.app import create_app
from realorai.serve.connections import uvicorn_options
from realorai.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "uvicorn_options"]
