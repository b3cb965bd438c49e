"""Model versions: the list, activation behind the quality gate, and the hot swap."""
