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
