"""Singer tap for Oracle WMS Cloud."""
