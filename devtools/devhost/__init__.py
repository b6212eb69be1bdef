"""Run function_app.py locally without Functions Core Tools (which cannot be installed here).

Indexes the app like the worker does (`app.get_functions()`) and serves its HTTP triggers at
`/api/<route>` with route parameters, methods and function-key auth, as `func start` would.
"""

from devtools.devhost.host import DevHost, load_local_settings
from devtools.devhost.routes import HttpRoute

__all__ = ["DevHost", "HttpRoute", "load_local_settings"]
