"""What the three InfluxDB outputs share: their settings, the request body, and HTTP -> ``Outcome``.

One table decides every verdict (``outcome_for_status``) so the flavours cannot drift apart:

=================  =========  ==========================================================
status             verdict    why
=================  =========  ==========================================================
2xx                ACCEPTED   the server stored the batch
400, 422           REJECTED   the batch itself is bad; resending it cannot help
413                REJECTED   too large: set aside like a 400 (never split); lower metric_batch_size
401, 403, 404      REFUSED    wrong credentials, missing permission, wrong db/bucket/url
other 3xx / 4xx    REFUSED    aimed wrong (a redirect, a proxy, not an InfluxDB)
408, 429, 5xx      RETRY      transient; ``retry_after_s`` from Retry-After when sent
no answer          RETRY      refused connection, timeout, DNS failure, reset
TLS failure        REFUSED    a certificate problem does not fix itself
=================  =========  ==========================================================

A RETRY after a read timeout may resend a batch the server did store: InfluxDB overwrites a point
with the same measurement, tag set and timestamp, so the resend is harmless.

Secrets: outputs hand their ``Secret`` values to ``scrub`` before any text leaves them, so a
server that echoes a credential cannot put it into an ``Outcome`` message.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import parse_url

from agent import __version__
from agent.clock import wall_clock
from agent.errors import ConfigError
from agent.settings.config import AgentSettings, OutputSpec
from agent.settings.secrets import Secret
from agent.yamlfile.section import parse_duration

from .base import Outcome, Verdict

DEFAULT_TIMEOUT_S = 5.0
MESSAGE_LIMIT = 300          # characters of a server's error message kept in an Outcome
USER_AGENT = f"netwatt/{__version__}"
ENCODINGS = ("gzip", "identity")


@dataclass(frozen=True, slots=True)
class HttpSettings:
    url: str            # scheme://host[:port][/prefix], no trailing slash, no credentials
    timeout_s: float
    batch_size: int
    gzip: bool


# --- settings -------------------------------------------------------------------------------------


def setting_error(spec: OutputSpec, key: str, message: str) -> ConfigError:
    return spec.error(key, f"{spec.type} output: {message}")


def text_setting(spec: OutputSpec, key: str, default: str | None = None) -> str:
    """A required (default None) or optional text setting; empty text counts as missing."""
    value = spec.settings.get(key)
    if value is None:
        if default is None:
            raise setting_error(spec, key, f"{key} is required")
        return default
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise setting_error(spec, key, f"{key} must be text, not {type(value).__name__}")
    text = str(value).strip()
    if not text and default is None:
        raise setting_error(spec, key, f"{key} must not be empty")
    return text


def secret_setting(spec: OutputSpec, key: str, *, required: bool) -> Secret | None:
    value = spec.settings.get(key)
    if value is None:
        if required:
            raise setting_error(spec, key, f"{key} is required (a secret reference: env:NAME, "
                                "file:PATH or credential:NAME)")
        return None
    if not isinstance(value, Secret):
        # config.py resolves secrets; anything else here is a programming error, and it must not
        # be echoed: it could be the secret itself.
        raise setting_error(spec, key, f"{key} must be a resolved secret reference")
    return value


def http_settings(spec: OutputSpec, agent: AgentSettings, *, default_http_port: int | None = None
                  ) -> HttpSettings:
    return HttpSettings(
        url=_base_url(spec, default_http_port),
        timeout_s=_timeout(spec),
        batch_size=_batch_size(spec, agent),
        gzip=_encoding(spec) == "gzip",
    )


def _base_url(spec: OutputSpec, default_http_port: int | None) -> str:
    raw = spec.settings.get("url")
    if not isinstance(raw, str) or not raw.strip():
        raise setting_error(spec, "url", "url is required, e.g. http://127.0.0.1:8086")
    try:
        url = parse_url(raw.strip())
    except ValueError:
        raise setting_error(spec, "url", "url is not a valid URL") from None
    if url.auth:
        # Never echo the URL: the part before '@' may be a password.
        raise setting_error(spec, "url", "url must not carry credentials (user:password@host); use the "
                            "username/password or token settings with a secret reference")
    if url.scheme not in ("http", "https"):
        raise setting_error(spec, "url", f"url must start with http:// or https://, not {url.scheme}://"
                            if url.scheme else "url must start with http:// or https://")
    if not url.host:
        raise setting_error(spec, "url", "url has no host")
    if url.query or url.fragment:
        raise setting_error(spec, "url", "url must not have a query string or fragment")
    port = url.port
    if port is None and url.scheme == "http" and default_http_port is not None:
        port = default_http_port
    host = f"[{url.host}]" if ":" in url.host and not url.host.startswith("[") else url.host
    netloc = f"{host}:{port}" if port is not None else host
    path = (url.path or "").rstrip("/")
    return f"{url.scheme}://{netloc}{path}"


def _timeout(spec: OutputSpec) -> float:
    value = spec.settings.get("timeout")
    if value is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise setting_error(spec, "timeout", f"timeout: {exc}") from None
    if seconds <= 0:
        raise setting_error(spec, "timeout", "timeout must be more than 0")
    return seconds


def _batch_size(spec: OutputSpec, agent: AgentSettings) -> int:
    value = spec.settings.get("metric_batch_size")
    if value is None:
        return agent.metric_batch_size
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise setting_error(spec, "metric_batch_size", "metric_batch_size must be a whole number >= 1")
    return value


def _encoding(spec: OutputSpec) -> str:
    value = spec.settings.get("content_encoding")
    if value is None:
        return "gzip"
    if value not in ENCODINGS:
        raise setting_error(spec, "content_encoding", f"content_encoding must be one of: {', '.join(ENCODINGS)}")
    return str(value)


# --- request ----------------------------------------------------------------------------------------


def encode_lines(lines: list[str], *, compress: bool) -> bytes:
    """Lines joined with "\\n" and ending with "\\n", UTF-8, gzip'd when asked."""
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return gzip.compress(body, compresslevel=6) if compress else body


def secret_forms(values: Iterable[str]) -> list[str]:
    """Every form a sent secret can come back in: as sent, the credential part of an ``Authorization``
    value (``Basic <base64>``, ``Bearer <token>``), percent-encoded, JSON-escaped. Longest first, so a
    longer form is replaced before a shorter one inside it."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        for part in (p.strip() for p in [value, *value.split(" ", 1)[1:]]):
            if not part:
                continue
            escaped = json.dumps(part)[1:-1]
            forms |= {part, quote(part, safe=""), escaped, escaped.replace("/", "\\/")}
    return sorted(forms, key=len, reverse=True)


def scrub_forms(text: str, forms: Sequence[str]) -> str:
    for form in forms:
        text = text.replace(form, "***")
    return text


def scrub(text: str, secrets: tuple[Secret | None, ...]) -> str:
    return scrub_forms(text, secret_forms(s.reveal() for s in secrets if s is not None))


# --- response -> Outcome ------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds ("1", also "1.5") or an HTTP date. None if absent/unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (wall_clock().timestamp() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def server_message(body: bytes | str | None, headers: Mapping[str, str] | None = None, *,
                   secrets: Sequence[str] = ()) -> str:
    """The server's own words, whichever InfluxDB spoke; at most MESSAGE_LIMIT characters.

    1.x: ``{"error": "..."}`` (and the X-Influxdb-Error header); 2.x: ``{"code": "...", "message": "..."}``;
    3.x: ``{"error": "...", "data": {...}}`` or ``"data": [...]`` with original_line, line_number and
    error_message, or plain text.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    text = scrub_forms(text, secrets)          # before parsing and truncating: no half credential survives
    message = _json_message(text) if text.lstrip().startswith("{") else None
    if message is None:
        message = " ".join(text.split())
    if not message and headers is not None:
        for name in ("X-Influxdb-Error", "X-Platform-Error-Code"):
            if headers.get(name):
                message = headers[name]
                break
    return truncate(scrub_forms(message, secrets))


def _json_message(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    main = data.get("message") or data.get("error")
    if not isinstance(main, str):
        return None
    details = data.get("data")
    items = details if isinstance(details, list) else [details] if isinstance(details, dict) else []
    parts = [main]
    for item in items[:3]:
        if isinstance(item, dict):
            parts.append(f"line {item.get('line_number', '?')}: {item.get('error_message', '')} "
                         f"({str(item.get('original_line', ''))[:80]!r})")
    return "; ".join(parts)


def truncate(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outcome_for_status(status: int, message: str, *, target: str, refusal_hint: str,
                       retry_after: str | None = None, location: str | None = None) -> Outcome:
    said = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if 200 <= status < 300:
        return Outcome(Verdict.ACCEPTED, "", status)
    if status in (400, 422):
        return Outcome(Verdict.REJECTED, f"{target}: the server rejected the batch ({said})", status)
    if status == 413:
        # Too large for the server's body limit: the forwarder sets it aside like a 400 (nothing
        # splits batches); the message says what to change.
        return Outcome(Verdict.REJECTED, f"{target}: batch too large for the server ({said}); "
                       "lower metric_batch_size", status)
    if status in (408, 429) or status >= 500:
        return Outcome(Verdict.RETRY, f"{target}: server busy or failing ({said})", status,
                       parse_retry_after(retry_after))
    if 300 <= status < 400:
        where = f" to {truncate(location, 120)}" if location else ""
        return Outcome(Verdict.REFUSED, f"{target}: redirected{where} ({said}); check the url "
                       "(http vs https, path prefix)", status)
    return Outcome(Verdict.REFUSED, f"{target}: {refusal_hint} ({said})", status)


def outcome_for_exception(exc: BaseException, *, target: str, timeout_s: float) -> Outcome:
    """urllib3/socket failures: no HTTP status, nothing stored (or a harmless duplicate): RETRY."""
    if isinstance(exc, SSLError):
        return Outcome(Verdict.REFUSED, f"{target}: TLS failed ({_reason(exc)}); check the certificate, "
                       "the CA and http vs https")
    if isinstance(exc, NameResolutionError):       # before NewConnectionError: a subclass of it
        reason = f"cannot resolve the host name ({_reason(exc)})"
    elif isinstance(exc, NewConnectionError):      # before ConnectTimeoutError: a subclass of it
        reason = f"cannot connect ({_reason(exc)})"
    elif isinstance(exc, ConnectTimeoutError):
        reason = f"no connection within {timeout_s:g} s"
    elif isinstance(exc, ReadTimeoutError | TimeoutError):
        reason = f"no answer within {timeout_s:g} s"
    elif isinstance(exc, ProtocolError):
        reason = f"connection lost ({_reason(exc)})"
    else:
        reason = f"{type(exc).__name__}: {_reason(exc)}"
    return Outcome(Verdict.RETRY, f"{target}: {reason}")


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused"), without urllib3's object reprs."""
    inner = exc
    for _ in range(5):
        nested = [arg for arg in inner.args if isinstance(arg, BaseException)]
        nxt = nested[0] if nested else inner.__cause__ or inner.__context__
        if nxt is None:
            break
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    text = str(inner)
    # urllib3: "<urllib3.connection.HTTPConnection object at 0x...>: Failed to establish ...: [Errno 111] ..."
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return truncate(" ".join(text.split()), 160)


# --- urllib3 transport (v1, v3) ----------------------------------------------------------------------


class Urllib3Output:
    """Base of the outputs that speak HTTP themselves: one PoolManager for the output's life.

    urllib3 is blocking; each write runs in ``asyncio.to_thread``. No urllib3 retries and no
    redirects followed: the forwarder owns retrying, and a redirect means a wrong url.
    """

    name: str
    batch_size: int

    def __init__(self, settings: HttpSettings, *, target: str, secrets: tuple[Secret | None, ...]) -> None:
        self.settings = settings
        self.batch_size = settings.batch_size
        self.target = target
        self._secrets = secrets
        self._pool: urllib3.PoolManager | None = urllib3.PoolManager(
            num_pools=2, maxsize=2, retries=False, timeout=urllib3.Timeout(total=settings.timeout_s),
        )

    def _write_url(self) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        """Per-request headers, credentials included: called in the worker thread, never stored."""
        raise NotImplementedError

    def _refusal_hint(self, status: int) -> str:
        raise NotImplementedError

    async def write(self, lines: list[str]) -> Outcome:
        if self._pool is None:
            raise RuntimeError(f"{self.name}: write after close")
        if not lines:
            return Outcome(Verdict.ACCEPTED, "nothing to write")
        return await asyncio.to_thread(self._write_blocking, self._pool, lines)

    def _write_blocking(self, pool: urllib3.PoolManager, lines: list[str]) -> Outcome:
        body = encode_lines(lines, compress=self.settings.gzip)
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": USER_AGENT}
        if self.settings.gzip:
            headers["Content-Encoding"] = "gzip"
        credentials = self._headers()
        headers.update(credentials)
        # whatever was sent that is secret, in every form a server could echo it back
        sent = secret_forms([*(s.reveal() for s in self._secrets if s is not None), *credentials.values()])
        try:
            response = pool.request("POST", self._write_url(), body=body, headers=headers,
                                    redirect=False, preload_content=True)
        except (HTTPError, OSError) as exc:
            return self._scrubbed(outcome_for_exception(exc, target=self.target,
                                                        timeout_s=self.settings.timeout_s), sent)
        status = response.status
        answer = {name: scrub_forms(value, sent) for name, value in response.headers.items()}
        message = "" if 200 <= status < 300 else server_message(response.data, answer, secrets=sent)
        return self._scrubbed(self._outcome(status, message, answer), sent)

    def _outcome(self, status: int, message: str, headers: Mapping[str, Any]) -> Outcome:
        return outcome_for_status(status, message, target=self.target,
                                  refusal_hint=self._refusal_hint(status),
                                  retry_after=headers.get("Retry-After"), location=headers.get("Location"))

    def _scrubbed(self, outcome: Outcome, sent: Sequence[str]) -> Outcome:
        clean = scrub_forms(outcome.message, sent)
        if clean == outcome.message:
            return outcome
        return Outcome(outcome.verdict, clean, outcome.status, outcome.retry_after_s)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.clear)
