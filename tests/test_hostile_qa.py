"""Hostile files in the QA workspace and in ``analyze DIR``: a sentence each, never a 500.

The QA user's Open and Export answer 200 with the file opened or one sentence naming
the problem; the folder analysis gives every file a row, the unusable ones a sentence of
their own (never the catch-all "could not be analysed", which marks a reader crash).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from adapters import FakeSource
from monitor.cli import main
from monitor.runtime import Catalog, Session, SessionRegistry
from monitor.store import AlarmStore, Users
from monitor.web.app import create_app
from tests.dash_requests import callback_outputs, post_callback, sign_in_body
from tests.hostile import hostile_files

READABLE = {"cr-only", "quoted-newline", "unterminated-quote", "year-2262", "year-2726", "utf16", "semicolons", "bit-flips"}  # fmt: skip


@pytest.fixture()
def qa_client(tmp_path):
    store = AlarmStore(tmp_path)
    Users(store).add("quinn", "qa", "9999")
    registry = SessionRegistry()
    registry.add(Session(FakeSource("idle"), store=store))
    files = hostile_files(tmp_path / "recordings")
    catalog = Catalog({"recordings": tmp_path / "recordings"})
    app = create_app(registry, users=Users(store), secret=b"k" * 32, catalog=catalog)
    client = app.server.test_client()
    signed = post_callback(client, *sign_in_body("quinn", "9999"))
    assert "quinn (qa)" in signed.get_data(as_text=True)
    return app, client, files


def test_qa_open_and_export_answer_every_hostile_file_with_a_result_or_a_sentence(qa_client):
    app, client, files = qa_client
    open_outputs = callback_outputs(app, "..qa-open.data...")
    export_outputs = callback_outputs(app, "..export-download.data...")
    for name, path in files.items():
        key = f"recordings/{path.name}"
        ident = {"type": "open-recording", "key": key}
        response = post_callback(
            client,
            open_outputs,
            [[{"id": ident, "property": "n_clicks", "value": 1}]],
            [],
            [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        )
        text = response.get_data(as_text=True)
        assert response.status_code == 200, (name, text[:300])
        expected = "opened" if name in READABLE else "refused"
        assert f'"data-result":"{expected}"' in text.replace(" ", ""), (name, text[:400])
        if expected == "refused":
            assert path.name in text and "Traceback" not in text
        exported = post_callback(
            client,
            export_outputs,
            [{"id": "export-html", "property": "n_clicks", "value": 1},
             {"id": "export-csv", "property": "n_clicks", "value": None}],
            [{"id": "qa-open", "property": "data", "value": key}],
            ["export-html.n_clicks"],
        )  # fmt: skip
        assert exported.status_code == 200, (name, exported.get_data(as_text=True)[:300])


def test_analyze_dir_gives_every_hostile_file_its_own_sentence(tmp_path, capsys):
    files = hostile_files(tmp_path / "folder")
    out = tmp_path / "summary.csv"
    assert main(["analyze", str(tmp_path / "folder"), "--format", "csv", "--out", str(out)]) == 0
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert set(rows) == {p.name for p in files.values()}
    for name, path in files.items():
        row = rows[path.name]
        assert "could not be analysed" not in row["error"], row["error"]
        if name in READABLE:
            least = 1 if name == "bit-flips" else 30  # flipped rows are rejected, the rest kept
            assert row["error"] == "" and int(row["samples"]) >= least, (name, row["error"])
        else:
            assert path.name in row["error"] and len(row["error"]) <= 300
    assert "Traceback" not in capsys.readouterr().err
