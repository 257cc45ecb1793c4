"""The background ledger writer: everything submitted is written, in batches, even past capacity;
what the database refuses waits in the spool until it answers, and a full spool drops (counted)."""

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import orjson

from cds_service.audit.ledger import IssuedCard, IssuedRating
from cds_service.audit.spool import Spool
from cds_service.audit.writer import LedgerWriter
from cds_service.storage import Database, database_for
from tests.support.ledger import entry


def _item(i: int):
    card = IssuedCard(str(uuid.uuid4()), "mri-before-ct", "warning", (str(uuid.uuid4()),), f"urn:uuid:{uuid.uuid4()}")
    return entry("svc", "order-select", [card], [IssuedRating(card.consult_id, "mri", "not-appropriate")], f"req-{i}")


def test_every_submitted_record_is_written_after_flush(tmp_path):
    db = database_for(f"sqlite:///{tmp_path}/w.sqlite3")
    writer = LedgerWriter(db, Spool(tmp_path / "spool", 1 << 20), capacity=5)  # most submissions overflow
    items = [_item(i) for i in range(300)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer.submit, items))
    writer.flush()
    for _ in range(100):  # overflowed entries went to the spool; the writer replays it (bounded wait)
        if db.query("SELECT COUNT(*) FROM cds_card")[0][0] == 300:
            break
        import time

        time.sleep(0.1)
    stored = {row[0] for row in db.query("SELECT uuid FROM cds_card")}
    assert stored == {item.cards[0].uuid for item in items}
    assert db.query("SELECT COUNT(*) FROM cds_rating")[0][0] == 300


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_dead_workers_spool_is_adopted_and_written(tmp_path):
    """What a worker spooled while the database was away survives it: the next worker writes it."""
    db = database_for(f"sqlite:///{tmp_path}/w.sqlite3")
    spool = Spool(tmp_path / "spool", 1 << 20)
    items = [_item(i) for i in range(3)]
    assert spool.put(items)
    [own] = list((tmp_path / "spool").glob("*.spool"))
    host, _pid, sequence, count = own.name[: -len(".spool")].rsplit("~", 3)
    orphan = own.with_name(f"{host}~{_dead_pid()}~{sequence}~{count}.spool")
    os.rename(own, orphan)  # as if another worker, now gone, had written it
    assert spool.backlog() == 0
    writer = LedgerWriter(db, Spool(tmp_path / "spool", 1 << 20))
    writer.start()
    writer.submit(_item(99))  # wakes the writer: it writes this batch and replays the spool
    writer.flush()
    for _ in range(100):
        if db.query("SELECT COUNT(*) FROM cds_card")[0][0] == 4:
            break
        import time

        time.sleep(0.1)
    assert {row[0] for row in db.query("SELECT uuid FROM cds_card")} >= {i.cards[0].uuid for i in items}
    assert list((tmp_path / "spool").glob("*.spool")) == []


def test_a_full_spool_drops_and_counts(tmp_path, log_lines):
    from prometheus_client import REGISTRY

    from cds_service import metrics

    metrics.define()
    before = REGISTRY.get_sample_value("cds_ledger_dropped_cards_total") or 0
    size = len(orjson.dumps([_item(0).to_json()]))
    spool = Spool(tmp_path / "spool", max_bytes=size + size // 2)  # room for one batch, not two
    assert spool.put([_item(0)])
    assert not spool.put([_item(1)])
    assert REGISTRY.get_sample_value("cds_ledger_dropped_cards_total") == before + 1
    assert "issued cards not recorded" in log_lines.text and "spool full" in log_lines.text
    assert spool.backlog() == 1


def test_a_batch_refused_while_the_database_is_locked_is_spooled_then_written(tmp_path, log_lines):
    import sqlite3
    import threading
    import time

    url = f"sqlite:///{tmp_path}/locked.sqlite3"
    database_for(url)  # migrated
    db = Database(url, timeout_s=0.1)
    blocker = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    writer = LedgerWriter(db, Spool(tmp_path / "spool", 1 << 20))
    item = _item(1)
    writer.submit(item)
    writer.flush()
    assert writer.spool.backlog() == 1, "refused: kept in the spool"
    blocker.execute("COMMIT")
    released = threading.Event()
    released.set()
    for _ in range(100):
        if db.query("SELECT uuid FROM cds_card"):
            break
        time.sleep(0.1)
    assert db.query("SELECT uuid FROM cds_card") == [(item.cards[0].uuid,)]
    assert writer.spool.backlog() == 0
    assert "issued cards not recorded" not in log_lines.text


def test_a_spool_file_that_goes_while_put_measures_the_spool_drops_nothing(tmp_path):
    """The writer replays (deletes) and adopts (renames) spool files while request threads spool
    more: a file listed but gone before its size is read must not make put drop its batch. A
    dangling link is exactly such a file, every time."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (spool_dir / "gone~1~1~1.spool").symlink_to(spool_dir / "replayed-a-moment-ago")
    spool = Spool(spool_dir, 1 << 20)
    assert spool.put([_item(1)])
    assert spool.backlog() == 1
