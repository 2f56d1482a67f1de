"""A real HTTP server that plays the Oracle WMS Cloud LGF REST API v10 for tests and the demo."""

from .server import RequestInfo, WmsSimulator, error_body

__all__ = ["RequestInfo", "WmsSimulator", "error_body"]
