"""One scrubber for every output path: no secret reaches a message, a report, a diff or a traceback.

Two layers, both applied by `scrub()`:

- **Known secrets.** Every secret airflow-dash handles is registered once (`register_secret`): the Grafana
  token and password, datasource secure fields after `${VAR}` substitution, `verify`'s InfluxDB token and
  password, and at CLI start every environment variable whose name says it is secret (`*TOKEN*`,
  `*PASSWORD*`, `*SECRET*`, ...). Each is masked as sent and in the forms a server may echo it back:
  URL-encoded, JSON-escaped, and inside a Basic `Authorization` header (base64 of `user:password`).
- **Shapes of secrets**, for what was never registered: `scheme://user:password@` in URLs, `Authorization:
  Basic|Bearer|Token ...` values, Grafana service-account tokens (`glsa_...`), and JSON/YAML fields named
  like secrets (`"token": "..."`, `password: ...`, `secureJsonData`).

The CLI wraps stdout and stderr in `ScrubbingStream`, so whatever prints (click, a library, Python's own
traceback under `--debug`) goes through here; library errors are scrubbed where they are made as well.
Secrets shorter than `MIN_SECRET_LENGTH` are not registered: masking every "1" or "ab" would wreck the
output and protect nothing (such values are still masked by shape inside URLs and headers).
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from typing import Iterable, Mapping, TextIO
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4
SECRET_ENV_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|CREDENTIAL|PRIVATE_KEY|_PASS$|_PW$", re.I)
# The user-name variables whose password variable sits beside them (GRAFANA_USER + GRAFANA_PASSWORD, ...).
_USER_ENV = re.compile(r"^(?P<stem>.*?)_?(USER|USERNAME|LOGIN)$", re.I)

_URL_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*):(?P<secret>[^/\s@'\"]+)@")
# A credential, not a word: at least one digit or symbol ("Basic credentials" stays readable).
_AUTH_VALUE = re.compile(r"\b(?P<scheme>Basic|Bearer|Token)(?P<sep>\s+|%20|\+)"
                         r"(?P<secret>(?=[A-Za-z0-9+/=._~:\-]*[0-9+/=_~:.\-])[A-Za-z0-9+/=._~:\-]{6,})")
_GRAFANA_TOKEN = re.compile(r"\bglsa_[A-Za-z0-9_]{6,}")
_SECRET_KEYS = (r"token|password|passwd|basicAuthPassword|httpHeaderValue\d*|apiKey|api_key|secret|"
                r"clientSecret|privateKey|accessKey|secretKey|tlsClientKey|sigV4SecretKey")
_JSON_FIELD = re.compile(rf'(?P<head>(?P<q>\\?")(?:{_SECRET_KEYS})(?P=q)\s*:\s*(?P=q))(?P<secret>(?:[^"\\]|\\.)*?)(?P<tail>(?P=q))',
                         re.I)
_YAML_FIELD = re.compile(rf"(?P<head>^\s*(?:{_SECRET_KEYS})\s*[:=]\s*)(?P<secret>\S.*?)\s*$", re.I | re.M)
_SECURE_BLOCK = re.compile(r'(?P<head>"secureJsonData"\s*:\s*)\{[^{}]*\}', re.I)


class Scrubber:
    """Masks registered secrets and secret-shaped text. Thread-safe; one process-wide instance below."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def register(self, secret: str | None, *, user: str | None = None) -> None:
        """Remember `secret` (and, with `user`, the Basic credentials `user:secret`) in every echoed form."""
        if not secret or len(str(secret)) < MIN_SECRET_LENGTH:
            return
        secret = str(secret)
        forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
        if user:
            pair = f"{user}:{secret}".encode("utf-8")
            forms.add(base64.b64encode(pair).decode("ascii"))
            forms.add(quote(f"{user}:{secret}", safe=""))
        with self._lock:
            self._secrets.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))  # longest first

    def register_environment(self, env: Mapping[str, str]) -> None:
        """Every variable whose name says it is secret, plus passwords inside URL-valued variables."""
        for name, value in env.items():
            if not value:
                continue
            if SECRET_ENV_NAME.search(name):
                self.register(value, user=_user_for(name, env))
            for match in _URL_USERINFO.finditer(value):
                user = match.group("head").rsplit("//", 1)[-1]
                self.register(match.group("secret"), user=user or None)

    def forget_all(self) -> None:
        """For tests: drop every registered secret."""
        with self._lock:
            self._secrets.clear()
            self._ordered = ()

    def scrub(self, text: str, *, fields: bool = True) -> str:
        """`text` with every secret masked. `fields=False` leaves the field-shaped layer out (secret-named JSON
        and YAML fields, secureJsonData blocks): what remains replaces text inside values only, so JSON
        stays JSON (pulled dashboards)."""
        if not text:
            return text
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
        text = _AUTH_VALUE.sub(lambda m: f"{m.group('scheme')}{m.group('sep')}{MASK}", text)
        text = _GRAFANA_TOKEN.sub(f"glsa_{MASK}", text)
        if not fields:
            return text
        text = _SECURE_BLOCK.sub(lambda m: f"{m.group('head')}{{{MASK}}}", text)
        text = _JSON_FIELD.sub(lambda m: m.group("head") + (MASK if m.group("secret") else "") + m.group("tail"), text)
        text = _YAML_FIELD.sub(lambda m: m.group("head") + MASK, text)
        return text


def _user_for(secret_name: str, env: Mapping[str, str]) -> str | None:
    """GRAFANA_PASSWORD -> the value of GRAFANA_USER (the pair a Basic header would carry)."""
    stem = re.sub(r"_?(PASSWORD|PASSWD|PASS|PW|TOKEN)$", "", secret_name, flags=re.I)
    for name, value in env.items():
        match = _USER_ENV.match(name)
        if match and match.group("stem").upper() == stem.upper() and value:
            return value
    return None


SCRUBBER = Scrubber()


def register_secret(secret: str | None, *, user: str | None = None) -> None:
    SCRUBBER.register(secret, user=user)


def register_secrets(secrets: Iterable[str | None]) -> None:
    for secret in secrets:
        SCRUBBER.register(secret)


def scrub(text: str) -> str:
    return SCRUBBER.scrub(text)


def scrub_values(text: str) -> str:
    """Secrets and credentials inside values only (see `Scrubber.scrub(fields=False)`): for files that must stay
    valid JSON, such as pulled dashboards."""
    return SCRUBBER.scrub(text, fields=False)


class ScrubbingStream(io.TextIOBase):
    """A text stream that scrubs what passes through, a line at a time (so a secret written in two pieces is
    still seen whole); `flush()` also scrubs and writes a pending partial line."""

    def __init__(self, stream: TextIO, scrubber: Scrubber = SCRUBBER) -> None:
        super().__init__()
        self._stream = stream
        self._scrubber = scrubber
        self._pending = ""
        self._lock = threading.RLock()

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    # click checks these two to decide the stream is fit for text as is. They follow the wrapped stream, so they
    # are read-only properties where typeshed declares TextIOBase's as plain attributes.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        encoding: str = getattr(self._stream, "encoding", "utf-8")
        return encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        errors: str | None = getattr(self._stream, "errors", "strict")
        return errors

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
            if cut >= 0:
                ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1:]
                self._stream.write(self._scrubber.scrub(ready))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._stream.write(self._scrubber.scrub(self._pending))
                self._pending = ""
            self._stream.flush()
