"""The Functions app: one Durable-capable app object with every blueprint registered."""

import azure.durable_functions as df
import azure.functions as func

from blueprints import (
    archive,
    archive_health,
    archive_watch,
    callbacks,
    control,
    dead_letters,
    events,
    lifecycle_events,
    recording_policy,
    retention,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(control.bp)
app.register_functions(callbacks.bp)
app.register_functions(archive.bp)
app.register_functions(retention.bp)
app.register_functions(archive_watch.bp)
app.register_functions(dead_letters.bp)
app.register_functions(events.bp)
app.register_functions(recording_policy.bp)
app.register_functions(archive_health.bp)
app.register_functions(lifecycle_events.bp)
