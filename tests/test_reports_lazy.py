"""``analyze --format json`` of one recording loads neither the HTML report (and so no
plotly), the folder summary nor the CLIF export; each is there when asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_streams" / "stable.csv"
LATER = ("monitor.reports.html", "monitor.reports.folder", "monitor.reports.clif", "plotly")

PROBE = """
import contextlib, io, json, sys
from monitor.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["analyze", sys.argv[1], "--format", "json"])
json.loads(out.getvalue())
print(json.dumps({"code": code, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_analyze_json_of_one_file_loads_no_report_module():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(SAMPLE), *LATER],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "loaded": []}


def test_each_report_name_is_there_when_asked_for():
    import monitor.reports as reports

    for name in reports.__all__:
        assert getattr(reports, name) is not None, name
    assert callable(reports.build_report) and callable(reports.write_clif)
