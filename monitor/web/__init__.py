"""The Dash page: the bedside view (``live``), the QA workspace (``qa``), and sign-in."""

from monitor.web.app import create_app

__all__ = ["create_app"]
