"""Files as careless exports and attackers write them: every one a reader must survive."""

from __future__ import annotations

import random
from pathlib import Path

HEADER = (
    "timestamp,pump_speed_rpm,blood_flow_lpm,p_venous_mmhg,p_pre_oxy_mmhg,p_post_oxy_mmhg,event"
)
ROWS = [f"2026-01-01T08:00:{s:02d}+00:00,3200,4.12,-42,205,183," for s in range(30)]
_TEXT = "\n".join([HEADER, *ROWS]) + "\n"


def hostile_files(folder: Path) -> dict[str, Path]:
    """Write one file per hostile case into ``folder``; name -> path (all ``*.csv``)."""
    rng = random.Random(10)
    flipped = bytearray(_TEXT.encode())
    for position in rng.sample(range(len(HEADER) + 1, len(flipped)), 12):  # the body's
        flipped[position] ^= 1 << rng.randrange(8)
    cases = {
        "cr-only": _TEXT.replace("\n", "\r").encode(),
        "binary-small": rng.randbytes(300),
        "binary-large": rng.randbytes(1_000_000),
        "binary-after-header": (HEADER + "\n").encode() + rng.randbytes(50_000),
        "quoted-newline": (_TEXT + '2026-01-01T08:01:00Z,3200,4.1,-42,205,183,"a\nb"\n').encode(),
        "unterminated-quote": (
            _TEXT + '2026-01-01T08:01:00Z,3200,4.1,-42,205,183,"open\n'
        ).encode(),
        "duplicate-columns": _TEXT.replace("event", "blood_flow_lpm", 1).encode(),
        "year-2262": (_TEXT + "2262-06-01T00:00:00Z,3200,4.1,-42,205,183,\n").encode(),
        "year-2726": (_TEXT + "2726-06-01T00:00:00Z,3200,4.1,-42,205,183,\n").encode(),
        "bit-flips": bytes(flipped),
        "utf16-no-bom": _TEXT.encode("utf-16-le"),
        "utf16": _TEXT.encode("utf-16"),
        "semicolons": _TEXT.replace(",", ";").replace("4.12", "4,12").encode(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in cases.items():
        path = folder / f"20260101T080000Z_{name}.csv"
        path.write_bytes(data)
        paths[name] = path
    return paths
