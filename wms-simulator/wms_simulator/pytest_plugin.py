"""pytest fixtures for the WMS simulator."""
