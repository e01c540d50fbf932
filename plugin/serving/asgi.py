"""The ASGI entry points uvicorn workers import: settings come from `EPIDURAL_CDS_*` variables set by `serve`.

Whether JWTs are checked is not a setting: `serve` names one factory or the other, and only `serve --no-auth` names
the one without authentication, so nothing in a file or the environment can switch it off.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI

from plugin.serving.app import create_app
from plugin.serving.log_format import configure_logging
from plugin.serving.settings import CONFIG_FILE_VARIABLE, Settings, load_settings

logger = logging.getLogger("epidural_cds")


def app_from_environment() -> FastAPI:
    configure_logging()
    return create_app(_settings())


def app_without_auth() -> FastAPI:
    configure_logging()
    # Every worker says it, so that a log collector sees it however the workers' lines are filtered.
    logger.warning("authentication is off (--no-auth): JWT checks and the fhirServer allow-list are disabled")
    return create_app(_settings(), auth=False)


def _settings() -> Settings:
    config = os.environ.get(CONFIG_FILE_VARIABLE)
    return load_settings(Path(config) if config else None, os.environ)
