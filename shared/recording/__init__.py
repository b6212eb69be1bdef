"""The recording wing: start, inspect, pause, resume and stop recordings, their options, the catalog
and the state callbacks that keep it current.

May import the core (`shared.*` modules); never `shared.archive`.
"""
