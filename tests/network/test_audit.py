"""The audit log: one hash chain across workers, tamper evidence, retention, and no exchange unlogged."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update

from kruispunt import network
from kruispunt.network import audit, writer
from kruispunt.network.partners import now
from kruispunt.network.tables import audit_record
from kruispunt.store import create_engine_for
from tests.hub_world import TODAY, World, headers, sqlite_only

AT = {"at": TODAY.isoformat()}


def _consult(client: TestClient, world: World, mid: str) -> int:
    return client.get(
        f"/v1/persons/{world.head}/statuses", params=AT, headers=headers(world.ocmw_token, mid)
    ).status_code


def test_verify_names_the_first_altered_removed_or_cut_record(client: TestClient, world: World) -> None:
    for number in range(6):
        assert _consult(client, world, f"a-{number}") == 200
    assert network.verify_audit(world.engine) == audit.Verification(True, 6, 1, 6)
    with world.engine.begin() as conn:
        conn.execute(update(audit_record).where(audit_record.c.seq == 3).values(end_user="someone-else"))
    broken = network.verify_audit(world.engine)
    assert (broken.intact, broken.broken_seq) == (False, 3) and "altered" in (broken.problem or "")
    with world.engine.begin() as conn:
        conn.execute(audit_record.delete().where(audit_record.c.seq == 3))
    removed = network.verify_audit(world.engine)
    assert (removed.broken_seq, removed.problem) == (3, "record 3 is missing (the next record is 4)")


@sqlite_only
def test_cutting_the_tail_is_detected(client: TestClient, world: World) -> None:
    for number in range(3):
        _consult(client, world, f"c-{number}")
    with world.engine.begin() as conn:
        conn.execute(audit_record.delete().where(audit_record.c.seq == 3))
    cut = network.verify_audit(world.engine)
    assert not cut.intact and cut.broken_seq == 3 and "head says 3" in (cut.problem or "")


def _break_log_store(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_record "
                    "BEGIN SELECT RAISE(ABORT, 'log store down'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION audit_down() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'log store down'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_record "
                    "FOR EACH ROW EXECUTE FUNCTION audit_down()"
                )
            )


def test_an_exchange_whose_log_record_cannot_be_written_is_refused(client: TestClient, world: World) -> None:
    _break_log_store(world.engine)
    answer = _consult(client, world, "down-1")
    refused = client.get(
        f"/v1/persons/{world.head}/statuses", params=AT, headers=headers(world.ocmw_token, "down-2")
    )
    assert answer == 503 and refused.json()["error"]["reason"] == "audit_unavailable"
    assert "statuses" not in refused.json() and "LEEFLOON" not in refused.text
    change = client.post(
        "/v1/directory/integrations",
        json={"insz": world.child, "capacity": 4, "start": "2024-01-01"},
        headers=headers(world.ocmw_token, "down-3"),
    )
    assert change.status_code == 503
    assert network.list_integrations(world.engine, world.ocmw, world.child) == []
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["audit_log"].startswith("not writable")
    # Nothing was stored for the failed message ids: once the log is back, a retry is answered.
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER audit_down"
                + ("" if world.engine.dialect.name == "sqlite" else " ON audit_record")
            )
        )
    assert _consult(client, world, "down-2") == 200


def _append_many(url: str, worker: int, count: int) -> None:
    engine = create_engine_for(url)  # its own engine and connections, as a separate worker has
    for number in range(count):
        entry = audit.AuditEntry(
            now(), "statuses", "answered", 200, f"{worker:064d}", 10, message_id=f"w{worker}-{number}"
        )
        with engine.begin() as conn:
            audit.append(conn, [entry])
    engine.dispose()


def test_several_workers_keep_one_chain(world: World) -> None:
    """Writers on separate engines contend on the database's lock, exactly as worker processes do."""
    url = world.engine.url.render_as_string(hide_password=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(_append_many, [url] * 4, range(4), [25] * 4))
    result = network.verify_audit(world.engine)
    assert result.intact and result.records == 100 and result.last_seq == 100


def test_the_loop_writer_chains_after_a_head_moved_by_another_writer(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Consultations logged by the serving loop, interleaved with records another worker appends: the loop's
    writer notices that the head it last wrote has moved (on PostgreSQL its compare-and-set fails and it
    chains again) and writes the batch itself, so the chain stays one."""

    def hand_over(_writer: writer.AuditWriter, batch: list[object]) -> None:
        pytest.fail("the loop writer gave its batch up")

    monkeypatch.setattr(writer.AuditWriter, "hand_over", hand_over)
    url = world.engine.url.render_as_string(hide_password=False)
    for number in range(4):
        assert _consult(client, world, f"i-{number}") == 200
        _append_many(url, number, 2)
    assert _consult(client, world, "i-last") == 200
    result = network.verify_audit(world.engine)
    assert result.intact and result.records == 13 and result.last_seq == 13


def test_a_batch_that_keeps_losing_the_head_is_written_by_the_waiting_writer(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No attempt left for the compare-and-set: the thread writer, which locks the head, logs the call."""
    monkeypatch.setattr(writer._PostgresBatches, "ATTEMPTS", 0)
    answer = client.get(
        f"/v1/persons/{world.head}/statuses", params=AT, headers=headers(world.ocmw_token, "lost-1")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["audit_seq"] == int(answer.headers["X-Audit-Seq"]) == 1
    again = client.get(
        f"/v1/persons/{world.head}/statuses", params=AT, headers=headers(world.ocmw_token, "lost-1")
    )
    assert again.headers["X-Replayed"] == "true" and again.content == answer.content
    assert network.verify_audit(world.engine) == audit.Verification(True, 1, 1, 1)


def test_retention_purges_a_prefix_and_the_rest_still_verifies(client: TestClient, world: World) -> None:
    for number in range(5):
        _consult(client, world, f"p-{number}")
    with world.engine.begin() as conn:
        conn.execute(
            update(audit_record).where(audit_record.c.seq <= 3).values(recorded_at=now() - timedelta(days=40))
        )
    purged = network.purge_audit(world.engine, 30)
    assert (purged.records, purged.anchor_seq) == (3, 3)
    assert network.verify_audit(world.engine) == audit.Verification(True, 2, 4, 5)
    assert _consult(client, world, "p-9") == 200 and network.verify_audit(world.engine).intact


@sqlite_only
def test_who_consulted_my_data(client: TestClient, world: World) -> None:
    _consult(client, world, "w-1")
    client.get(f"/v1/persons/{world.head}/statuses", params=AT, headers=headers(world.fund_token, "w-2"))
    report = network.who_consulted(world.engine, world.head)
    assert [(r.requester, r.outcome) for r in report] == [(world.fund, "refused"), (world.ocmw, "answered")]
    assert report[1].requester_name == "OCMW Hoei" and report[1].deliberation == "20/123"
    assert report[1].purpose == "social-inquiry" and report[1].case_reference == "dossier-2024-17"
    assert network.who_consulted(world.engine, world.child) == []
