"""Singer inline mapper that validates records against data-quality rules."""
