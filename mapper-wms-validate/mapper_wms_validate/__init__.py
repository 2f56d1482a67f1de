"""Singer inline mapper: data-quality rules and the target's storage contract, rejects quarantined."""
