"""The monitor application, in rooms by job.

- ``runtime``: a bed's running pieces (session, buffer, recorder, registry, QA replays);
- ``store``: the SQLite alarm log and the users;
- ``present``: what the page and the report draw alike (traces, colours, times as text);
- ``reports``: a session's analysis as JSON, CSV or an offline HTML report;
- ``web``: the Dash page (``live`` bedside view, ``qa`` workspace);
- ``cli``: one module per command.
"""
