"""One JSON object per log line, carrying the structured fields the service logs (ids, rule ids, timings).

Only fields passed explicitly through `extra=` are written, and the code passes no patient data, JWT or token there;
the message text is fixed per call site for the same reason.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

import orjson

# uvicorn adds `color_message`, a copy of the message with terminal colour codes.
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # Type and stack only: an exception's message can quote the data it choked on.
            entry["error_type"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs each request URL at INFO, and FHIR search URLs carry patient ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
