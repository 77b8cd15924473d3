"""Helpers shared by the test packages: databases, generated banks, feature inputs."""
