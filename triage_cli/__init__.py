"""The `triage` command line: the outermost layer, above the core (triage/), training/ and api/."""
