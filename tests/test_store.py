"""The SQLite store on a real file: versioned schema, append-only logs, round trips."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from monitor.store import LOG_TABLES, SCHEMA_VERSION, AlarmStore, StoreError
from rules import Acknowledgement, IncrementalEngine, Priority, Transition
from tests.test_rules_lifecycle import feed, kinked

T0 = 1_767_254_400.0


def transition(second: float, state: str = "active", **kw) -> Transition:
    fields = dict(
        time=T0 + second, rule="post_oxy_pressure_high", priority=Priority.HIGH, state=state,
        value=362.5, threshold=350.0, baseline=None, message="post-oxygenator pressure 362 mmHg",
    )  # fmt: skip
    return Transition(**{**fields, **kw})


def test_a_new_store_has_the_current_schema_version_in_wal_mode(tmp_path):
    with AlarmStore(tmp_path / "data") as store:
        assert store.path == tmp_path / "data" / "ecmo-monitor.db"
        assert store.schema_version == SCHEMA_VERSION == 2
        assert store.journal_mode == "wal"
    db = sqlite3.connect(tmp_path / "data" / "ecmo-monitor.db")
    assert db.execute("PRAGMA user_version").fetchone() == (2,)
    rows = db.execute("SELECT version, description FROM schema_version").fetchall()
    assert rows == [
        (1, "alarm log, acknowledgements, events, labs, baseline resets, users"),
        (2, "sign-ins kept on the server"),
    ]


def test_a_version_1_store_is_migrated_to_server_side_sign_ins_keeping_its_rows(tmp_path):
    from monitor.store.schema import MIGRATIONS

    db = sqlite3.connect(tmp_path / "ecmo-monitor.db", isolation_level=None)
    db.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied REAL NOT NULL, description TEXT NOT NULL)"
    )
    for statement in MIGRATIONS[0][2]:
        db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (1, 0, 'v1')")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO users VALUES ('sam', 'specialist', x'00', x'00', 1, 0)")
    db.close()
    with AlarmStore(tmp_path) as store:
        assert store.schema_version == 2
        assert store.user("sam").role == "specialist"
        store.add_sign_in(b"t", "sam", "127.0.0.1", 5.0)
        assert store.last_sign_in("sam") == 5.0


def test_reopening_keeps_everything_and_migrates_nothing_twice(tmp_path):
    with AlarmStore(tmp_path) as store:
        store.append_transitions([transition(1)])
    with AlarmStore(tmp_path) as store:
        assert len(store.alarm_log()) == 1
        assert store.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "ecmo-monitor.db")
    assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (SCHEMA_VERSION,)


@pytest.mark.parametrize("table", LOG_TABLES)
def test_the_database_refuses_to_update_or_delete_log_rows(tmp_path, table):
    with AlarmStore(tmp_path) as store:
        store.append_transitions([transition(1)])
        store.append_acknowledgement(
            Acknowledgement(T0 + 2, "post_oxy_pressure_high", Priority.HIGH, "ann", "specialist")
        )
        store.append_event("oxygenator_change", T0 + 3, user="ann")
        store.append_lab("plasma_free_hb_mg_dl", 64.0, T0 + 4, unit="mg/dL", user="ann")
        store.append_baseline_reset(T0 + 5, "ann")
    db = sqlite3.connect(tmp_path / "ecmo-monitor.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"UPDATE {table} SET time = 0")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"DELETE FROM {table}")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1


def test_alarm_log_round_trip_newest_first(tmp_path):
    with AlarmStore(tmp_path, bed="bed-7") as store:
        store.append_transitions(
            [transition(1), transition(60, "cleared", value=float("nan"), baseline=12.5)]
        )
        log = store.alarm_log()
        assert [(e.state, e.time - T0) for e in log] == [("cleared", 60.0), ("active", 1.0)]
        newest, oldest = log
        assert (oldest.rule, oldest.priority, oldest.value, oldest.threshold) == (
            "post_oxy_pressure_high",
            "high",
            362.5,
            350.0,
        )
        assert oldest.message == "post-oxygenator pressure 362 mmHg" and oldest.bed == "bed-7"
        assert (newest.value, newest.baseline) == (None, 12.5)
        assert [e.state for e in store.alarm_log(limit=1)] == ["cleared"]
        assert store.alarm_log(rule="flow_low") == []
        assert [e.state for e in store.alarm_log(since=T0 + 30)] == ["cleared"]
    with AlarmStore(tmp_path, bed="bed-8") as other:
        assert other.alarm_log() == []


def test_acknowledgement_is_stored_with_its_alarm_log_line(tmp_path):
    engine = IncrementalEngine()
    with AlarmStore(tmp_path) as store:
        store.append_transitions(feed(engine, 0, 60))
        store.append_transitions(feed(engine, 60, 90, **kinked(0, 360)))
        ack = engine.acknowledge(
            "post_oxy_pressure_high", "ann", "specialist", T0 + 100, note="kink freed"
        )
        store.append_acknowledgement(ack)
        (stored,) = store.acknowledgements()
        assert (stored.user, stored.role, stored.note, stored.priority, stored.time) == (
            "ann",
            "specialist",
            "kink freed",
            "high",
            T0 + 100,
        )
        newest = store.alarm_log()[0]
        assert (newest.state, newest.user, newest.role, newest.note) == (
            "acknowledged",
            "ann",
            "specialist",
            "kink freed",
        )
        assert [e.state for e in store.alarm_log()] == ["acknowledged", "active"]


def test_events_labs_and_baseline_resets_round_trip(tmp_path):
    with AlarmStore(tmp_path) as store:
        store.append_event("oxygenator_change", T0 + 10, user="ann", note="clots seen")
        store.append_event("circuit check", T0 + 20)
        store.append_lab("plasma_free_hb_mg_dl", 64.0, T0 + 30, unit="mg/dL", user="bo")
        store.append_lab("ldh_u_l", 800.0, T0 + 40, unit="U/L")
        store.append_baseline_reset(T0 + 50, "ann", reason="oxygenator_change")
        assert [(e.kind, e.user, e.note) for e in store.events()] == [
            ("circuit check", None, ""),
            ("oxygenator_change", "ann", "clots seen"),
        ]
        assert [(e.analyte, e.value, e.unit) for e in store.labs()] == [
            ("ldh_u_l", 800.0, "U/L"),
            ("plasma_free_hb_mg_dl", 64.0, "mg/dL"),
        ]
        assert [e.value for e in store.labs(analyte="ldh_u_l")] == [800.0]
        (reset,) = store.baseline_resets()
        assert (reset.time, reset.user, reset.reason) == (T0 + 50, "ann", "oxygenator_change")


def test_users_table_keeps_salted_pin_hashes(tmp_path):
    with AlarmStore(tmp_path) as store:
        store.add_user("ann", "specialist", b"salt", b"hash", 200_000, created=T0)
        (user,) = store.users()
        assert (user.name, user.role, user.salt, user.pin_hash, user.iterations) == (
            "ann",
            "specialist",
            b"salt",
            b"hash",
            200_000,
        )
        assert store.user("bo") is None
        with pytest.raises(StoreError, match="'ann' already exists"):
            store.add_user("ann", "viewer", b"s", b"h", 1)


def test_writers_on_several_threads_lose_nothing(tmp_path):
    with AlarmStore(tmp_path) as store:

        def write(offset: int) -> None:
            for i in range(50):
                store.append_transitions([transition(offset * 1000 + i)])

        threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(store.alarm_log()) == 200


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "ecmo-monitor.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable ecmo-monitor database"):
        AlarmStore(tmp_path)


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "ecmo-monitor.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer ecmo-monitor"):
        AlarmStore(tmp_path)
