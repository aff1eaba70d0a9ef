"""Actions from a central station, carried out by the bed: acknowledge, event, lab.

The bed is the source of truth. A signed-in specialist at a central station asks on
``ecmo.<bed>.action``; the bed checks the request, applies it with its own engine, logs
it with the user and "via central <name>", and replies ``ok``, ``already`` (done before)
or ``refused`` with a sentence; the change then reaches every station as an alarm-log row.

Roles are checked twice: by the central (the signed-in user's role) and by the bed, which
trusts a request only when it carries an assertion of user and role signed with the key
the bed and the stations share (HMAC-SHA256, ``--action-key FILE``), issued within the
last :data:`MAX_AGE_S` seconds, naming this bed, and not seen before (its nonce). Broker
credentials alone are not enough: a bed's credentials, or anyone's who can publish on the
subject, cannot forge a specialist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

from monitor.bus.errors import BusError
from monitor.bus.messages import ACTION, MAX_MESSAGE_BYTES, encode, subject
from monitor.runtime import ActionError, Session
from monitor.store import PERMISSIONS

log = logging.getLogger("ecmo_monitor.bus")
#: A request older (or further in the future) than this is refused.
MAX_AGE_S = 30.0
OK, ALREADY, REFUSED = "ok", "already", "refused"
#: The actions a central may ask for, and the permission each needs.
ACTIONS = {"acknowledge": "acknowledge", "event": "record_event", "lab": "enter_lab"}
_MIN_KEY_BYTES = 32


def read_action_key(path: str | Path) -> bytes:
    """The shared key from its file (at least 32 bytes); BusError in one sentence if not."""
    path = Path(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise BusError(f"{path}: the action key cannot be read ({exc.strerror}).") from None
    if len(key) < _MIN_KEY_BYTES:
        raise BusError(f"{path}: an action key needs at least {_MIN_KEY_BYTES} bytes.")
    return key


def make_action_key(path: str | Path) -> bytes:
    """Write a new random key (mode 600) and return it."""
    path = Path(path)
    key = secrets.token_hex(32).encode()
    path.write_bytes(key)
    path.chmod(0o600)
    return key


def _signature(key: bytes, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def sign_request(
    key: bytes, bed: str, action: str, args: dict, user: str, role: str, central: str
) -> bytes:
    body = {
        "bed": bed, "action": action, "args": args, "user": user, "role": role,
        "central": central, "issued": time.time(), "nonce": secrets.token_hex(16),
    }  # fmt: skip
    return encode({**body, "sig": _signature(key, body)})


class ActionResponder:
    """Answers a bed's action requests; attach it to the bed's publisher."""

    def __init__(self, session: Session, key: bytes | None) -> None:
        self.session = session
        self.key = key
        self._nonces: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    async def listen(self, nc) -> None:
        await nc.subscribe(subject(self.session.bed_id, ACTION), cb=self._on_request)

    async def _on_request(self, msg) -> None:
        reply = self.handle(msg.data)
        if msg.reply:
            await msg.respond(encode(reply))

    def verify(self, data: bytes) -> dict:
        """The request's body when it is signed, fresh, for this bed and new; else BusError."""
        if self.key is None:
            raise BusError("this bed takes no actions from a central station (no action key)")
        if len(data) > MAX_MESSAGE_BYTES:
            raise BusError("the request is too large")
        try:
            document = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BusError("the request is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("sig"), str):
            raise BusError("the request is not signed")
        body = {k: v for k, v in document.items() if k != "sig"}
        if not hmac.compare_digest(_signature(self.key, body), document["sig"]):
            raise BusError("the request's signature does not verify")
        issued, nonce = body.get("issued"), body.get("nonce")
        if not isinstance(issued, int | float) or abs(time.time() - issued) > MAX_AGE_S:
            raise BusError("the request is not fresh")
        if body.get("bed") != self.session.bed_id:
            raise BusError("the request is for another bed")
        for key in ("action", "user", "role", "central", "nonce"):
            if not isinstance(body.get(key), str) or not body[key] or len(body[key]) > 200:
                raise BusError(f"the request's {key} is missing")
        if not isinstance(body.get("args"), dict):
            raise BusError("the request's args are missing")
        with self._lock:
            now = time.monotonic()
            while self._nonces and next(iter(self._nonces.values())) < now - 2 * MAX_AGE_S:
                self._nonces.popitem(last=False)
            if nonce in self._nonces:
                raise BusError("the request was already used")
            self._nonces[nonce] = now
        return body

    def handle(self, data: bytes) -> dict:
        try:
            body = self.verify(data)
        except BusError as exc:
            log.warning("bed %s refused an action request: %s", self.session.bed_id, exc)
            return {"result": REFUSED, "message": f"Refused by the bed: {exc}."}
        action, user, role = body["action"], body["user"], body["role"]
        permission = ACTIONS.get(action)
        if permission is None or permission not in PERMISSIONS.get(role, frozenset()):
            log.warning("bed %s refused %s for %s (%s)", self.session.bed_id, action, user, role)
            return {"result": REFUSED, "message": f"{user} ({role}) may not {action} here."}
        via = f"via central {body['central']}"
        try:
            return self._apply(action, body["args"], user, role, via)
        except (ActionError, TypeError, ValueError, KeyError) as exc:
            return {"result": REFUSED, "message": str(exc)}

    def _apply(self, action: str, args: dict, user: str, role: str, via: str) -> dict:
        session = self.session
        if action == "acknowledge":
            rule = str(args.get("rule", ""))
            current = next((a for a in session.alerts() if a.rule == rule), None)
            if current is not None and str(current.state) == "acknowledged":
                return {"result": ALREADY, "message": f"{rule} was already acknowledged."}
            note = " ".join(str(args.get("note", "")).split())[:200]
            ack = session.acknowledge(rule, user, role, f"{via}: {note}" if note else via)
            return {"result": OK, "message": f"{user} acknowledged {ack.rule} {via}."}
        if action == "event":
            note = str(args.get("note", ""))[:200]
            kind = str(args.get("kind", ""))
            session.record_event(kind, user, f"{via}: {note}" if note else via)
            return {"result": OK, "message": f"{user} recorded {kind} {via}."}
        unit = args.get("unit")
        value = float(args["value"])
        session.enter_lab(str(args.get("analyte", "")), value, f"{user} ({via})", unit)
        return {"result": OK, "message": f"{user} entered {args.get('analyte')} {via}."}
