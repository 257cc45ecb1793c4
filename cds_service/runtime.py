"""Everything a worker process builds once and every request shares."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import openapi
from .audit import decisions
from .audit.spool import Spool
from .audit.writer import LedgerWriter
from .auth import Authenticator, build_authenticator
from .clinical import load_knowledge
from .config import Settings
from .content import Content
from .fhir.client import FhirClient
from .site import SiteHolder
from .storage import Database, HookLane, database_for

log = logging.getLogger("cds_service.runtime")
_loaded: dict[str, tuple] = {}
LEDGER_TIMEOUT_S = 1.0
_loaded_lock = threading.Lock()


def load_content(hooks_dir: Path) -> tuple[Content, Any]:
    """Content and knowledge of `hooks_dir`, validated once per process for the same files.

    Checking every schema against its metaschema costs about half a second; an app factory called
    again for the same files (tests, `evaluate`) reuses the result. Both objects are read-only.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in hooks_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(hooks_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    key = f"{hooks_dir.resolve()}:{digest.hexdigest()}"
    with _loaded_lock:
        if key not in _loaded:
            content = Content.load(hooks_dir)
            _loaded[key] = (content, load_knowledge(hooks_dir, content.schemas))
        return _loaded[key]


@dataclass
class Runtime:
    settings: Settings
    content: Content
    fhir: FhirClient
    auth: Authenticator
    database: Database
    ledger: LedgerWriter
    hook_lane: HookLane  # storage calls on the hook path: bounded, fail safe (storage.hook_lane)
    discovery_body: bytes
    knowledge: Any = None  # clinical.Knowledge, validated at start-up (with the site's local codes)
    openapi_body: bytes = b""  # GET /openapi.json, bundled from hooks/openapi.json at start-up
    site: Any = None  # site.SiteHolder: the site file in force, re-read on change
    decision_secret: bytes | None = None  # keys the decision hashes (audit.decisions)
    clock: Any = field(default=time.time)  # wall clock (epoch seconds) for dates and suppression; tests replace it

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        import orjson

        content, knowledge = load_content(settings.hooks_dir)
        database = database_for(
            settings.database_url,
            migration_timeout_s=settings.migration_timeout_s,
            timeout_s=settings.db_timeout_s,
            connect_timeout_s=settings.db_connect_timeout_s,
            max_connections=settings.db_pool_size,
        )
        discovery = {"services": [s.discovery for s in content.services.values()]}
        secret = settings.suppression_secret.encode() if settings.suppression_secret else None
        site = SiteHolder(
            settings.site_config_path,
            content.schemas,
            content.services,
            knowledge,
            secret,
            ttl_s=settings.site_reload_s,
        )
        runtime = cls(
            settings=settings,
            content=content,
            fhir=FhirClient(
                settings.fhir_timeout_s,
                settings.fhir_max_pages,
                max_per_server=settings.fhir_max_per_server,
                max_response_bytes=settings.fhir_max_response_bytes,
                max_request_bytes=settings.fhir_max_request_bytes,
            ),
            auth=build_authenticator(settings),
            database=database,
            ledger=LedgerWriter(
                # its own connection, and at most LEDGER_TIMEOUT_S per statement: a refused batch
                # reaches the spool quickly, so a worker that exits mid-fault has nothing in memory
                Database(
                    settings.database_url,
                    timeout_s=min(settings.db_timeout_s, LEDGER_TIMEOUT_S),
                    connect_timeout_s=settings.db_connect_timeout_s,
                    max_connections=1,
                ),
                Spool(settings.spool_dir, settings.spool_max_bytes),
                decision_window_s=settings.decision_window_min * 60,
            ),
            hook_lane=HookLane(settings.database_url, bound_s=settings.hook_db_timeout_s),
            discovery_body=orjson.dumps(discovery),
            knowledge=knowledge,
            openapi_body=openapi.served_body(settings.hooks_dir, content.schemas, list(content.services)),
            site=site,
        )
        site.on_change(runtime._apply_site)
        runtime.decision_secret = secret or decisions.instance_secret(database)
        return runtime

    def _apply_site(self, config) -> None:
        """A (re)loaded site file: its knowledge (local order codes) and discovery (options) take over."""
        self.knowledge = config.knowledge
        self.discovery_body = config.discovery_body

    def may_contact(self, client, fhir_server: str, warn: bool = True) -> bool:
        """Only FHIR servers registered for the authenticated client are ever called (no SSRF).

        warn=False leaves the warning to the caller, who knows whether a fetch was needed at all:
        a complete prefetch naming an unregistered server is no reason to log on every call."""
        if client is None:
            return self.settings.auth_mode == "off"
        allowed = client.allows_fhir_server(fhir_server)
        if not allowed and warn:
            self.warn_unregistered_fhir_server(client)
        return allowed

    @staticmethod
    def warn_unregistered_fhir_server(client) -> None:
        log.warning("fhirServer not registered for client; not contacted", extra={"iss": getattr(client, "iss", None)})
