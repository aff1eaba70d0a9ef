"""The central station: every bed that publishes, on one screen (DESIGN.md section 9).

- ``station``: the beds' frames, alarm logs and heartbeats, rebuilt from the stream.
"""

from monitor.central.station import NO_DATA, CentralStation, RemoteBed, StationStatus

__all__ = ["NO_DATA", "CentralStation", "RemoteBed", "StationStatus"]
