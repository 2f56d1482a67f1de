"""A real HTTP server that plays the Oracle WMS Cloud LGF REST API v10."""
