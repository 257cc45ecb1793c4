"""The site configuration in force, re-read when the file changes: no restart to switch a
service between shadow and live.

Each request asks for the current snapshot; at most once per `ttl_s` (CDS_SITE_RELOAD_S) the
file's identity (inode, size, mtime in ns) is compared with the last one read, so the cost is a
stat() per interval, and a replace-by-rename is seen even within one mtime tick. A file that
fails validation after a change is refused: the previous configuration stays in force and the
error (file and key) is logged once per change, so a typo never switches a service off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from ..content import ContentError
from .config import SiteConfig, load_site

log = logging.getLogger("cds_service.site")


class SiteHolder:
    def __init__(
        self,
        path: str | None,
        schemas,
        services: dict,
        base_knowledge,
        secret: bytes | None,
        ttl_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._args = (schemas, services, base_knowledge, secret)
        self.path = path
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._listeners: list[Callable[[SiteConfig], None]] = []
        self._signature = self._stat()
        self._config = load_site(path, *self._args)  # start-up: an invalid file raises ContentError
        self._checked = monotonic()

    def _stat(self):
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return "missing"
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def on_change(self, listener: Callable[[SiteConfig], None]) -> None:
        self._listeners.append(listener)
        listener(self._config)

    def current(self) -> SiteConfig:
        if self.path is None or self._monotonic() - self._checked < self.ttl_s:
            return self._config
        with self._lock:
            if self._monotonic() - self._checked < self.ttl_s:
                return self._config
            self._checked = self._monotonic()
            signature = self._stat()
            if signature == self._signature:
                return self._config
            self._signature = signature
            try:
                config = load_site(self.path, *self._args)
            except ContentError as exc:
                log.error(
                    "site file change refused; the previous configuration stays in force", extra={"reason": str(exc)}
                )
                return self._config
            self._config = config
            log.warning("site file reloaded", extra={"path": self.path})
            for listener in self._listeners:
                listener(config)
            return config
