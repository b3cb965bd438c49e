"""Tests that start the deployment of several instances (scripts/cluster.sh)."""
