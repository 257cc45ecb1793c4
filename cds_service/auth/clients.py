"""The trusted-client registry: who may call us, how their keys are found, which FHIR servers they may name.

Loaded once from the CDS_TRUSTED_CLIENTS JSON file and checked thoroughly at start-up, because
a typo here otherwise shows up as every EHR call failing with a 401 that tells the caller nothing.
Errors name the file and the entry (index and iss) so an operator can fix it without guessing.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..config import ConfigError
from .keys import KeySource, RefreshingKeySet, StaticKeySet, parse_jwks

SCHEMA_NAME = "trusted-clients.schema.json"


class TrustedClientsError(ConfigError):
    """The trusted-clients file is missing, unreadable or invalid."""


def normalise_base_url(url: str) -> str | None:
    """A FHIR base URL in comparable form: lower-case scheme and host, no default port, no trailing slash.

    None for anything that is not an absolute http(s) URL without credentials, query or fragment,
    so such a value can never match a registered server.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except (ValueError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, "", ""))


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, eq=False)
class TrustedClient:
    """One registered CDS client (an EHR, or a test harness), identified by its `iss`."""

    iss: str
    keys: KeySource = field(repr=False)
    jku: str | None = None  # the only jku a token may name; fetched only when no keys are pinned
    tenant: str | None = None
    fhir_servers: frozenset[str] = frozenset()

    def allows_fhir_server(self, url: str) -> bool:
        """Whether this client may send us to `url` as its fhirServer; none are allowed unless listed."""
        if not isinstance(url, str):
            return False
        normalised = normalise_base_url(url)
        return normalised is not None and normalised in self.fhir_servers


class Registry:
    def __init__(self, clients: list[TrustedClient], source: str | None = None):
        self.source = source
        self._by_iss = {c.iss: c for c in clients}

    def get(self, iss) -> TrustedClient | None:
        return self._by_iss.get(iss) if isinstance(iss, str) else None

    def __len__(self) -> int:
        return len(self._by_iss)

    def __iter__(self):
        return iter(self._by_iss.values())


def _schema_errors(doc, schema_path: Path, label) -> list[str]:
    if not schema_path.is_file():
        return []
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        where = label(path[0]) if path else "(top level)"
        inner = "/".join(str(p) for p in path[1:])
        messages.append(f"{where}{' at ' + inner if inner else ''}: {error.message}")
    return messages


def load_registry(path: str, settings, schema_dir: Path | None = None) -> Registry:
    """Read and check the file; raises TrustedClientsError naming the file and the entry at fault."""
    file = Path(path)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: {file} does not exist") from None
    except OSError as exc:
        raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: cannot read {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise TrustedClientsError(
            f"CDS_TRUSTED_CLIENTS: {file} is not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None

    if not isinstance(doc, list):
        raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: {file} must hold a JSON array of clients")

    def label(index: int) -> str:
        entry = doc[index]
        return f"entry {index}" + (f" (iss {entry.get('iss')!r})" if isinstance(entry, dict) and "iss" in entry else "")

    # our own checks first, for messages an operator can act on; the JSON Schema is a backstop
    clients: list[TrustedClient] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(doc):
        try:
            client = _client(entry, file.parent, settings)
        except ValueError as exc:
            raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: {file}, {label(index)}: {exc}") from None
        if client.iss in seen:
            raise TrustedClientsError(
                f"CDS_TRUSTED_CLIENTS: {file}, {label(index)}: iss is already used by entry {seen[client.iss]}"
            )
        seen[client.iss] = index
        clients.append(client)
    problems = _schema_errors(doc, (schema_dir or (settings.hooks_dir / "schemas")) / SCHEMA_NAME, label)
    if problems:
        raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: {file} is invalid: " + "; ".join(problems[:5]))
    return Registry(clients, str(file))


def _client(entry, base_dir: Path, settings) -> TrustedClient:
    if not isinstance(entry, dict):
        raise ValueError("must be a JSON object")
    known = {"iss", "jku", "jwks", "jwks_file", "fhir_servers", "tenant", "name", "comment"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; allowed: {sorted(known)}")
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss.strip():
        raise ValueError("'iss' must be a non-empty string")
    if "jwks" in entry and "jwks_file" in entry:
        raise ValueError("give 'jwks' or 'jwks_file', not both")
    if not any(k in entry for k in ("jku", "jwks", "jwks_file")):
        raise ValueError(
            "give 'jku' (keys fetched from it), 'jwks' or 'jwks_file' (pinned keys), "
            "or 'jku' with pinned keys (the header jku is accepted, never fetched)"
        )

    jku = None
    if "jku" in entry:
        jku = entry["jku"]
        _check_jku(jku, settings.allow_insecure_jku)
    ttl, floor, timeout = settings.jwks_ttl_s, settings.jwks_refresh_floor_s, settings.jwks_timeout_s
    if "jwks" in entry:  # pinned inline: never fetched, whatever jku says
        try:
            keys: KeySource = StaticKeySet(parse_jwks(entry["jwks"], strict=True))
        except ValueError as exc:
            raise ValueError(f"'jwks': {exc}") from None
    elif "jwks_file" in entry:  # pinned in a file: re-read from disk, never fetched
        keys = _file_keys(entry["jwks_file"], base_dir, ttl, floor)
    else:
        from .fetch import fetch_jwks_url

        assert isinstance(jku, str)  # no pinned keys, so 'jku' was required and checked above
        keys = RefreshingKeySet(f"jku {jku}", lambda: fetch_jwks_url(jku, timeout), ttl, floor)

    tenant = entry.get("tenant")
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise ValueError("'tenant' must be a non-empty string")
    servers = entry.get("fhir_servers", [])
    if not isinstance(servers, list):
        raise ValueError("'fhir_servers' must be a list of FHIR base URLs")
    normalised = set()
    for url in servers:
        value = normalise_base_url(url) if isinstance(url, str) else None
        if value is None:
            raise ValueError(
                f"'fhir_servers': {url!r} is not an absolute http(s) base URL without query or credentials"
            )
        normalised.add(value)
    return TrustedClient(iss=iss, keys=keys, jku=jku, tenant=tenant, fhir_servers=frozenset(normalised))


def _file_keys(raw, base_dir: Path, ttl: float, floor: float) -> KeySource:
    if not isinstance(raw, str) or not raw:
        raise ValueError("'jwks_file' must be a path")
    jwks_path = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    try:
        parse_jwks(json.loads(jwks_path.read_text(encoding="utf-8")), strict=True)
    except OSError as exc:
        raise ValueError(f"'jwks_file' {jwks_path}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"'jwks_file' {jwks_path}: {exc}") from None
    from .keys import read_jwks_file

    # re-read on an unknown kid (rotation by replacing the file), at most once per floor
    return RefreshingKeySet(f"jwks_file {jwks_path}", lambda: read_jwks_file(jwks_path), ttl, floor)


def _check_jku(jku, allow_insecure: bool) -> None:
    if not isinstance(jku, str):
        raise ValueError("'jku' must be a URL string")
    try:
        parts = urlsplit(jku)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError(f"'jku' {jku!r} is not a valid URL") from None
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValueError(f"'jku' {jku!r} must be an absolute https URL without credentials or fragment")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and allow_insecure and is_loopback(parts.hostname):
        return
    hint = " (http is accepted only for loopback hosts with CDS_ALLOW_INSECURE_JKU=true, for tests)"
    raise ValueError(f"'jku' {jku!r} must use https{hint}")
