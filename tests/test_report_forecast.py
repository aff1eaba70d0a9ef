"""The report's delta P forecast: each whole hour's forecast beside what happened."""

from __future__ import annotations

import re

from adapters import write_dataframe
from adapters.simulator import simulate
from monitor.reports import run_analysis
from monitor.reports.html import build_report


def test_the_report_lists_each_hours_forecast_against_when_the_alert_began(tmp_path):
    path = tmp_path / "rising.csv"
    write_dataframe(simulate("steady_resistance_rise", duration_s=8 * 3600, seed=3), path)
    result = run_analysis(path)
    html = build_report(result)
    section = html.split("<h2>Delta P forecast</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>(.*?)</tr>", section)
    assert len(rows) == 8  # one per whole hour
    (medium,) = [e.start for e in result.analysis.episodes
                 if e.rule == "delta_p_rise" and str(e.priority) == "medium"]  # fmt: skip
    foreseen = [cells for _, cells in rows if "in about" in cells]
    assert foreseen, section
    # a row with a forecast also says when the +30 alert actually began
    said = re.search(
        r"in about ([\d.]+) h \(([\d.]+)-([\d.]+) h\)</td><td>in ([\d.]+) h", foreseen[0]
    )
    assert said, foreseen[0]
    about, low, high, real = map(float, said.groups())
    assert low <= about <= high and real > 0
    assert "already reached" in rows[-1][1]  # the last hour is after the crossing
    assert "waiting for the baseline" in rows[0][1] or "too little data" in rows[0][1]
    assert medium > result.analysis.start
