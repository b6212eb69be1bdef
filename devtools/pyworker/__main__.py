"""`python -m devtools.pyworker`: the worker process the local host starts (see worker.py)."""

from devtools.pyworker.worker import main

raise SystemExit(main())
