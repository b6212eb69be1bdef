"""The importable core of the call-recording service: no trigger decorators live here."""
