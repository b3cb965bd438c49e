"""Model versions in the core: metrics, the quality gate, ACTIVE and the activation log.

The service (api/) and the CLI (training/) both build on this package; it imports neither."""
