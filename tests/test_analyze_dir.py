"""``ecmo-monitor analyze DIR``: one summary row per recording, bad files reported, not fatal."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from adapters.recording import write_dataframe
from adapters.simulator import simulate
from monitor.reports import episode_counts, run_analysis
from monitor.reports.folder import COUNT_COLUMNS, SUMMARY_COLUMNS, TerminalProgress, analyze_folder

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_streams"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def read_table(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture()
def mixed_folder(tmp_path) -> Path:
    """Two good recordings (one with a hostile name), junk, an empty file, a non-CSV."""
    frame = simulate("return_line_kink", 2 * 3600)
    write_dataframe(frame, tmp_path / "kink.csv")
    write_dataframe(simulate("stable", 3600), tmp_path / "@stable=1+1.csv")
    (tmp_path / "junk.csv").write_bytes(b"\x00\x01 this is not a recording\n\xff\xfe")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "notes.txt").write_text("not a recording")
    (tmp_path / "sub").mkdir()
    shutil.copy(SAMPLES / "stable.csv", tmp_path / "sub" / "nested.csv")
    return tmp_path


def test_sample_folder_gives_one_row_per_recording_with_the_counts_of_each_alone():
    done = run_cli("analyze", "sample_streams/", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = read_table(done.stdout)
    files = sorted(p.name for p in SAMPLES.glob("*.csv"))
    assert [r["file"] for r in rows] == files
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    for row in rows:
        alone = run_analysis(SAMPLES / row["file"])
        assert {c: int(row[c]) for c in COUNT_COLUMNS} == episode_counts(alone.analysis)
        assert int(row["samples"]) == alone.analysis.samples
        assert int(row["rows"]) == alone.report.rows
        assert int(row["artifacts"]) == alone.report.artifacts
        assert int(row["gaps"]) == len(alone.report.gaps)
        assert float(row["duration_h"]) == pytest.approx(4.0, abs=0.01)
        assert row["error"] == ""
    by_file = {r["file"]: r for r in rows}
    assert by_file["oxygenator_exchange.csv"]["delta_p_rise_high"] == "1"
    assert all(by_file["stable.csv"][c] == "0" for c in COUNT_COLUMNS)
    # not a terminal: one progress line per file on standard error, nothing on stdout
    assert done.stderr.count("analysed ") == len(files)
    assert f"analysed {len(files)}/{len(files)}: {files[-1]}" in done.stderr


def test_junk_files_get_an_error_row_and_do_not_stop_the_others(mixed_folder):
    out = mixed_folder / "summary.csv"
    done = run_cli("analyze", str(mixed_folder), "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = read_table(out.read_text(encoding="utf-8"))
    by_file = {r["file"]: r for r in rows}
    # sorted, *.csv only, not recursive; the hostile name is made inert as text
    assert list(by_file) == ["'@stable=1+1.csv", "empty.csv", "junk.csv", "kink.csv"]
    assert "junk.csv" in by_file["junk.csv"]["error"] and by_file["junk.csv"]["samples"] == ""
    assert "empty" in by_file["empty.csv"]["error"]
    assert by_file["kink.csv"]["error"] == "" and by_file["kink.csv"]["samples"] == "7200"
    assert by_file["'@stable=1+1.csv"]["samples"] == "3600"
    kink = run_analysis(mixed_folder / "kink.csv")
    assert {c: int(by_file["kink.csv"][c]) for c in COUNT_COLUMNS} == episode_counts(kink.analysis)
    assert "not analysed: " in done.stderr and "junk.csv" in done.stderr


def test_a_folder_with_no_usable_recording_exits_2_but_still_writes_the_table(tmp_path):
    (tmp_path / "a.csv").write_text("hello,world\n1,2\n")
    done = run_cli("analyze", str(tmp_path), "--format", "json")
    assert done.returncode == 2
    table = json.loads(done.stdout)
    assert [r["file"] for r in table] == ["a.csv"]
    assert "required column" in table[0]["error"] and table[0]["samples"] is None
    assert "none of its 1 recordings could be analysed" in done.stderr


def test_an_empty_folder_is_one_sentence_and_exit_2(tmp_path):
    done = run_cli("analyze", str(tmp_path), "--format", "csv")
    assert done.returncode == 2
    assert "no *.csv recordings" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_labs_with_a_folder_are_refused(tmp_path):
    done = run_cli("analyze", str(tmp_path), "--labs", "labs.csv")
    assert done.returncode == 2 and "belong to one recording" in done.stderr


def test_analyze_folder_reports_progress_and_typed_columns(mixed_folder):
    calls = []
    frame = analyze_folder(mixed_folder, progress=lambda *a: calls.append(a))
    assert calls[0] == (0, 4, None)
    assert calls[1:] == [
        (1, 4, "@stable=1+1.csv"),
        (2, 4, "empty.csv"),
        (3, 4, "junk.csv"),
        (4, 4, "kink.csv"),
    ]
    assert list(frame.columns) == list(SUMMARY_COLUMNS)
    assert str(frame["start"].dt.tz) == "UTC"
    assert frame["samples"].dtype == "Int64"
    good = frame[frame["error"] == ""]
    assert list(good["file"]) == ["@stable=1+1.csv", "kink.csv"]
    assert good["start"].iloc[0] == pd.Timestamp("2026-01-01T08:00:00Z")
    assert frame.loc[frame["file"] == "junk.csv", "samples"].isna().all()


def test_html_summary_is_escaped(mixed_folder):
    (mixed_folder / "<script>x<script>.csv").write_text("nonsense")
    done = run_cli("analyze", str(mixed_folder), "--format", "html")
    assert done.returncode == 0
    assert "<script>" not in done.stdout
    assert "&lt;script&gt;x&lt;script&gt;.csv" in done.stdout


def test_progress_is_a_bar_on_a_terminal():
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        progress = TerminalProgress(terminal, width=10)
        assert progress.tty
        progress(0, 4, None)
        progress(2, 4, "b.csv")
        progress(4, 4, "d.csv")
    shown = ""
    while select.select([leader], [], [], 1.0)[0]:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        shown += chunk.decode()
    os.close(leader)
    assert "\r[..........] 0/4" in shown
    assert "\r[#####.....] 2/4 b.csv" in shown
    assert "\r[##########] 4/4 d.csv" in shown
