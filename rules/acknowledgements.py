"""Which acknowledgement belongs to which alert episode: the one answer for every view."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from .episodes import Episode
from .lifecycle import Priority

#: An acknowledgement this long after the last sample still counts (the recording stops
#: with the session, the alarm log a moment later).
ACK_GRACE_S = 60.0


def match_acknowledgements(
    episodes: Sequence[Episode], acknowledgements: Iterable, end: float | None
) -> list:
    """The first acknowledgement of each episode, or None: one entry per episode.

    ``acknowledgements`` are records with ``time``, ``rule``, ``priority`` and ``user``
    (``store.AcknowledgementEntry`` or ``rules.Acknowledgement``). An acknowledgement
    counts for an episode of its rule when it came at or after the episode's start and
    before the rule's next alert (or the end of the data), at the episode's priority or
    above, or after the episode's level had ended (a latched alert acknowledged once it
    cleared, or a level the alert came down from).
    """
    acks = sorted(acknowledgements, key=lambda a: a.time)
    limit = math.inf if end is None else end + ACK_GRACE_S
    # the start of the rule's next alert (overlapping episodes are levels of one alert)
    next_alert: dict[int, float | None] = {}
    by_rule: dict[str, list[int]] = {}
    for i, e in enumerate(episodes):
        by_rule.setdefault(e.rule, []).append(i)
    for indices in by_rule.values():
        indices.sort(key=lambda i: episodes[i].start)
        group: list[int] = []
        group_end = -math.inf
        for i in indices:
            e = episodes[i]
            if e.start > group_end:
                for j in group:
                    next_alert[j] = e.start
                group = []
            group.append(i)
            group_end = max(group_end, math.inf if e.end is None else e.end)
        for j in group:
            next_alert[j] = None
    out = []
    for i, e in enumerate(episodes):
        found = None
        until = next_alert[i]
        for ack in acks:
            if ack.rule != e.rule or ack.time < e.start:
                continue
            if (until is not None and ack.time >= until) or ack.time > limit:
                break
            if Priority(str(ack.priority)).level >= e.priority.level or (
                e.end is not None and ack.time >= e.end
            ):
                found = ack
                break
        out.append(found)
    return out
