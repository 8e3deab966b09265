"""Log output in logfmt or JSON, every line passed through the secret redactor."""

from __future__ import annotations

import json
import logging
import sys
import time

from exporter.secrets import Redactor

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    out: dict[str, object] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STD and not key.startswith("_"):
            out[key] = value
    if record.exc_info:
        out["error"] = logging.Formatter().formatException(record.exc_info)
    return out


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text == "" or any(ch in text for ch in ' ="\n\t'):
        return json.dumps(text)
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str) -> None:
        super().__init__()
        self._redactor = redactor
        self._json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        if self._json:
            text = json.dumps(fields, default=str)
        else:
            text = " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields.items())
        return self._redactor.redact(text)


def setup_logging(redactor: Redactor, level: str = "info", fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor, fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log would add a line per scrape; keep it at warning.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # httpx (model probe) logs every request at info and httpcore every socket step at debug;
    # the probe's own debug log already says what was called.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
