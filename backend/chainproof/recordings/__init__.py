"""Live recordings (执法记录, issue 20): segment digests hash-chained and anchored as they come."""
