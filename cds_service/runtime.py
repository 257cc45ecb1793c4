"""Everything a worker process builds once and every request shares."""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .audit.writer import LedgerWriter
from .auth import Authenticator, build_authenticator
from .clinical import load_knowledge
from .config import Settings
from .content import Content
from .fhir.client import FhirClient
from .storage import Database, database_for

log = logging.getLogger("cds_service.runtime")
_loaded: dict[str, tuple] = {}
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
    discovery_body: bytes
    knowledge: Any = None         # clinical.Knowledge, validated at start-up

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        import orjson

        content, knowledge = load_content(settings.hooks_dir)
        database = database_for(settings.database_url, timeout_s=settings.db_timeout_s,
                                connect_timeout_s=settings.db_connect_timeout_s)
        discovery = {"services": [s.discovery for s in content.services.values()]}
        return cls(
            settings=settings,
            content=content,
            fhir=FhirClient(settings.fhir_timeout_s, settings.fhir_max_pages,
                            max_per_server=settings.fhir_max_per_server,
                            max_response_bytes=settings.fhir_max_response_bytes,
                            max_request_bytes=settings.fhir_max_request_bytes),
            auth=build_authenticator(settings),
            database=database,
            ledger=LedgerWriter(database),
            discovery_body=orjson.dumps(discovery),
            knowledge=knowledge,
        )

    def may_contact(self, client, fhir_server: str) -> bool:
        """Only FHIR servers registered for the authenticated client are ever called (no SSRF)."""
        if client is None:
            return self.settings.auth_mode == "off"
        allowed = client.allows_fhir_server(fhir_server)
        if not allowed:
            log.warning("fhirServer not registered for client; not contacted", extra={"iss": client.iss})
        return allowed
