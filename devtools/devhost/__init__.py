"""Run function_app.py locally without Functions Core Tools (which cannot be installed here).

The app runs in the Python worker's own code (`devtools.pyworker`, Python 3.13); this package is
the host around it, following the Functions host's public source: HTTP triggers at `/api/<route>`
with route parameters, methods and keys, the Event Grid webhook, timers on their schedules, the
admin API that runs a non-HTTP function, and the Durable client binding
(docs/local-development.md, "What the local host does").
"""

from devtools.devhost.host import DevHost, load_local_settings
from devtools.devhost.routes import HttpRoute

__all__ = ["DevHost", "HttpRoute", "load_local_settings"]
