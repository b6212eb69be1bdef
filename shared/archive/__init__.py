"""The archive wing: Event Grid event -> Durable fan-out -> verified blobs, manifest and catalog entry.

May import the core (`shared.*` modules) and `shared.recording` (the catalog); never the other way.
"""
