"""Trigger declarations, one module per concern; the logic they call lives in `shared/`."""
