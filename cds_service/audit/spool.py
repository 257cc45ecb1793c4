"""Issued-card records the database refused, kept on local disk until it takes them.

The hook path never waits on storage, so a card is answered before its record is written; when
the database is locked, restarting or unreachable, the background writer puts the batch here
instead of losing it, and replays it (oldest first) once the database answers again. A batch is
one file, written to a temporary name, fsynced and renamed, so a crash leaves either the whole
batch or nothing. Files are named `host~pid~sequence~entries.spool`: a worker replays its own,
and adopts (by an atomic rename) those of a worker on this host that is no longer alive, so the
records survive a worker restart. The directory is bounded (`max_bytes` over all workers): a
batch that would pass the bound is dropped, logged and counted (cds_ledger_dropped_cards_total);
the backlog is a gauge (cds_ledger_spooled_entries). Issue 22's replicas each keep their own
directory (CDS_SPOOL_DIR on a per-replica volume); nothing here is shared between hosts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import orjson

from .. import metrics
from .ledger import LedgerEntry

log = logging.getLogger("cds_service.audit")
SUFFIX = ".spool"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class Spool:
    def __init__(self, directory: str | Path, max_bytes: int, host: str | None = None):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.host = (host or socket.gethostname()).replace("~", "-")
        self._lock = threading.Lock()
        self._sequence = 0

    def _name(self, sequence: int, entries: int, pid: int | None = None) -> str:
        return f"{self.host}~{pid or os.getpid()}~{sequence:020d}~{entries}{SUFFIX}"

    @staticmethod
    def _parts(path: Path) -> tuple[str, int, int, int] | None:
        try:
            host, pid, sequence, entries = path.name[: -len(SUFFIX)].rsplit("~", 3)
            return host, int(pid), int(sequence), int(entries)
        except ValueError:
            return None

    def put(self, entries: list[LedgerEntry]) -> bool:
        """Keep a refused batch; False (dropped, logged, counted) when the bound or the disk refuses it."""
        cards = sum(len(e.cards) for e in entries)
        data = orjson.dumps([e.to_json() for e in entries])
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                used = self._used()
                if used + len(data) > self.max_bytes:
                    return self._dropped(entries, cards, f"spool full ({used} of {self.max_bytes} bytes)")
                self._sequence = max(self._sequence + 1, time.time_ns())
                final = self.directory / self._name(self._sequence, len(entries))
                temporary = final.with_suffix(".tmp")
                with open(temporary, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.rename(temporary, final)
            except OSError as exc:
                return self._dropped(entries, cards, f"spool not writable ({type(exc).__name__})")
        self.report()
        return True

    def _used(self) -> int:
        """Bytes spooled by every worker on this directory. A file can go between listing and
        stat (its batch replayed by the writer, or adopted under a new name): it no longer counts,
        and must not make `put` drop the batch it is keeping."""
        used = 0
        for path in self.directory.glob(f"*{SUFFIX}"):
            try:
                used += path.stat().st_size
            except FileNotFoundError:
                continue
        return used

    @staticmethod
    def _dropped(entries: list[LedgerEntry], cards: int, reason: str) -> bool:
        metrics.ledger_dropped(cards)
        log.error(
            "issued cards not recorded",
            extra={"reason": reason, "cards": cards, "requestIds": [e.request_id for e in entries][:20]},
        )
        return False

    def pending(self) -> list[Path]:
        """This worker's spooled batches, oldest first, after adopting those of dead workers on this host."""
        mine: list[tuple[int, Path]] = []
        pid = os.getpid()
        for path in self.directory.glob(f"*{SUFFIX}") if self.directory.is_dir() else ():
            parts = self._parts(path)
            if parts is None or parts[0] != self.host:
                continue
            owner, sequence, entries = parts[1], parts[2], parts[3]
            if owner != pid:
                if _alive(owner):
                    continue
                adopted = self.directory / self._name(sequence, entries, pid)
                try:
                    os.rename(path, adopted)  # atomic: of two workers adopting at once, one wins
                except OSError:
                    continue
                path = adopted
            mine.append((sequence, path))
        return [path for _, path in sorted(mine)]

    def holding(self, uuids: list[str], scanned: set[str]) -> list[LedgerEntry]:
        """Spooled entries (any worker's, this directory) that carry a card among `uuids`. Files
        named in `scanned` are skipped and the ones read are added (a spooled file never changes;
        an adopted one is read again under its new name). Only files that contain one of the
        uuids as a JSON string are parsed; the whole directory is bounded by `max_bytes`."""
        wanted = set(uuids)
        needles = [orjson.dumps(u) for u in wanted]
        found: list[LedgerEntry] = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")) if self.directory.is_dir() else ():
            if path.name in scanned:
                continue
            scanned.add(path.name)
            try:
                data = path.read_bytes()
                if not any(needle in data for needle in needles):
                    continue
                entries = [LedgerEntry.from_json(doc) for doc in orjson.loads(data)]
            except FileNotFoundError:  # replayed (or adopted) since it was listed
                continue
            except (OSError, ValueError, TypeError, KeyError):  # unreadable: the writer sets it aside
                continue
            found += [e for e in entries if any(card.uuid in wanted for card in e.cards)]
        return found

    @staticmethod
    def read(path: Path) -> list[LedgerEntry]:
        return [LedgerEntry.from_json(doc) for doc in orjson.loads(path.read_bytes())]

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.report()

    def backlog(self) -> int:
        """Entries (responses) this worker still holds in the spool."""
        pid = os.getpid()
        total = 0
        for path in self.directory.glob(f"*{SUFFIX}") if self.directory.is_dir() else ():
            parts = self._parts(path)
            if parts is not None and parts[0] == self.host and parts[1] == pid:
                total += parts[3]
        return total

    def report(self) -> None:
        metrics.ledger_spooled(self.backlog())
