"""The background ledger writer: everything submitted is written, in batches, even past capacity."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from cds_service.audit.ledger import IssuedCard, IssuedRating, record_batch
from cds_service.audit.writer import LedgerWriter
from cds_service.storage import Database, database_for


def _item(i: int):
    card = IssuedCard(str(uuid.uuid4()), "mri-before-ct", "warning", (str(uuid.uuid4()),), f"urn:uuid:{uuid.uuid4()}")
    return ("svc", "order-select", [card], [IssuedRating(card.consult_id, "mri", "not-appropriate")], f"req-{i}")


def test_every_submitted_record_is_written_after_flush(tmp_path):
    db = database_for(f"sqlite:///{tmp_path}/w.sqlite3")
    writer = LedgerWriter(db, capacity=5)  # a tiny queue: most submissions overflow to the caller
    items = [_item(i) for i in range(300)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: writer.submit(*item), items))
    writer.flush()
    stored = {row[0] for row in db.query("SELECT uuid FROM cds_card")}
    assert stored == {item[2][0].uuid for item in items}
    assert db.query("SELECT COUNT(*) FROM cds_rating")[0][0] == 300


def test_a_database_failure_is_logged_not_raised(log_lines):
    unreachable = Database("postgresql://nobody@127.0.0.1:9/none")
    record_batch(unreachable, [_item(1)])
    assert "issued cards not recorded" in log_lines.text


def test_a_batch_refused_while_the_database_is_locked_is_written_once_it_frees(tmp_path, log_lines):
    """The background writer retries a refused batch instead of dropping the card records."""
    import sqlite3
    import threading

    url = f"sqlite:///{tmp_path}/locked.sqlite3"
    database_for(url)  # migrated
    db = Database(url, timeout_s=0.1)
    blocker = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    released = threading.Event()
    writer = LedgerWriter(db)
    item = _item(1)
    writer.submit(*item)
    # The first attempt fails within its 0.1 s busy timeout; the lock goes before the last retry.
    threading.Timer(0.6, lambda: (blocker.execute("COMMIT"), released.set())).start()
    writer.flush()
    assert released.is_set()
    assert db.query("SELECT uuid FROM cds_card") == [(item[2][0].uuid,)]
    assert "issued cards not recorded" not in log_lines.text
