"""Connecting to the broker and making sure the streams exist, for beds and central stations.

Credentials come from a ``.creds`` file (``--nats-creds``) or a user and password (in the
URL or ``--nats-user``/``--nats-password``); a ``tls://`` URL connects over TLS with the
system's trust store (or ``--nats-ca``). The streams are created when missing, with the
retention of DESIGN.md section 9; a node whose credentials may not create them uses the
ones an administrator made (``docs/deploy/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.js import api
from nats.js.errors import APIError, NotFoundError

from monitor.bus.errors import BusError
from monitor.bus.messages import KEEP_SECONDS, STATUS_STREAM, STREAM

log = logging.getLogger("ecmo_monitor.bus")
#: How long JetStream remembers a message id to drop a duplicate (DESIGN.md section 9).
DUPLICATE_WINDOW_S = 120.0


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Where the broker is and who we are to it."""

    url: str
    creds: str | None = None
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None
    replicas: int = 1
    name: str = "ecmo-monitor"

    def options(self) -> dict:
        """Keyword arguments for ``nats.connect`` (no reconnect of its own: we do that)."""
        options: dict = {
            "servers": [u.strip() for u in self.url.split(",") if u.strip()],
            "name": self.name,
            "connect_timeout": 2,
            "allow_reconnect": True,
            "max_reconnect_attempts": 2,
            "reconnect_time_wait": 0.5,
        }
        if self.creds:
            if not Path(self.creds).is_file():
                raise BusError(f"{self.creds}: no such NATS credentials file.")
            options["user_credentials"] = self.creds
        if self.user:
            options["user"] = self.user
            options["password"] = self.password or ""
            # replies come to this user's own inboxes: the shipped server configuration
            # lets each user read only _INBOX_<user>.>, so nobody reads another's replies
            options["inbox_prefix"] = f"_INBOX_{self.user}"
        if self.ca_file or any(s.startswith("tls://") for s in options["servers"]):
            context = ssl.create_default_context(cafile=self.ca_file)
            options["tls"] = context
        return options


async def _quiet(exc: Exception) -> None:
    """nats-py's own error callback logs a traceback per failed attempt; ours says it once."""
    log.debug("nats: %s", exc)


async def connect(settings: BrokerSettings, **callbacks) -> nats.NATS:
    """A connection, or the error of the attempt (the caller retries and says why)."""
    callbacks.setdefault("error_cb", _quiet)
    return await nats.connect(**settings.options(), **callbacks)


async def ensure_streams(js, replicas: int = 1) -> None:
    """Create the frame/alarm stream and the status stream when they do not exist."""
    wanted = (
        api.StreamConfig(
            name=STREAM,
            subjects=["ecmo.*.frame", "ecmo.*.alarm"],
            max_age=KEEP_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_S,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            allow_direct=True,  # a bed reads back its own last frame by subject only
        ),
        api.StreamConfig(
            name=STATUS_STREAM,
            subjects=["ecmo.*.status"],
            max_msgs_per_subject=1,
            max_age=KEEP_SECONDS,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
        ),
    )
    for config in wanted:
        try:
            await js.stream_info(config.name)
            continue
        except NotFoundError:
            pass
        except Exception:  # not allowed to look (a bed's user): an administrator made them
            log.debug("cannot look at stream %s; taking it as made", config.name)
            continue
        try:
            await js.add_stream(config)
        except APIError as exc:
            raise BusError(f"The broker refused to create stream {config.name}: {exc}.") from None


def where(settings: BrokerSettings) -> str:
    """The broker's address for messages: never a password from the URL."""
    return settings.url.split("@")[-1]


def why(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__)[:120]


async def stay_connected(
    settings: BrokerSettings,
    serve: Callable[[nats.NATS, Callable[[], None]], Awaitable[None]],
    report: Callable[[bool, str | None], None],
    retry_max: float = 5.0,
) -> None:
    """Connect, run ``serve(nc, ready)`` until the connection is lost, and again, forever.

    ``serve`` calls ``ready()`` once it is set up; ``report(connected, problem)`` hears
    every change (a problem is a short clause naming the broker and the cause). Waits
    0.5 s after a failure, doubling up to ``retry_max``.
    """
    backoff = 0.5

    def ready() -> None:
        nonlocal backoff
        backoff = 0.5
        report(True, None)

    while True:
        try:
            nc = await connect(settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report(False, f"cannot reach {where(settings)} ({why(exc)})")
        else:
            try:
                await serve(nc, ready)
                report(False, f"lost {where(settings)} (the connection closed)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                report(False, f"lost {where(settings)} ({why(exc)})")
            finally:
                with contextlib.suppress(Exception):
                    await nc.close()
        await asyncio.sleep(backoff)
        backoff = min(retry_max, backoff * 2)
