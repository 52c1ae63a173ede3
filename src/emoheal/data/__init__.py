"""Datasets: reading, verifying, validating and preparing the raw inputs."""
