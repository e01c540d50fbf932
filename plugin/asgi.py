"""The ASGI entry point uvicorn workers import: settings come from `EPIDURAL_CDS_*` variables set by `serve`."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from plugin.app import create_app
from plugin.log_format import configure_logging
from plugin.settings import CONFIG_FILE_VARIABLE, load_settings


def app_from_environment() -> FastAPI:
    configure_logging()
    config = os.environ.get(CONFIG_FILE_VARIABLE)
    return create_app(load_settings(Path(config) if config else None, os.environ))
