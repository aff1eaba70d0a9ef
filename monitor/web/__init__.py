"""The Dash pages: the bedside view (``live``), the QA workspace (``qa``), sign-in, and the
central station's overview (``central``, loaded only when asked for: it needs nats-py)."""

from monitor.web.app import create_app

__all__ = ["create_app", "create_central_app"]


def __getattr__(name: str):
    if name == "create_central_app":
        from monitor.web.central.app import create_central_app

        return create_central_app
    raise AttributeError(name)
