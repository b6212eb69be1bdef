"""Helpers the test suites share: real servers on loopback and a way to call our functions."""
