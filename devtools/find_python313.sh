#!/usr/bin/env bash
# Print the path of a working Python 3.13 for the worker venv (the Functions Python worker needs
# 3.13): one on the PATH, one pyenv installed, else Debian's python3.13 + python3.13-venv.
set -uo pipefail
works() { "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; }
for candidate in "${PYTHON313:-}" "$(command -v python3.13 2>/dev/null)" \
                 /usr/bin/python3.13 /usr/local/bin/python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
done
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Python 3.13 not found: installing Debian's python3.13 and python3.13-venv" >&2
  (apt-get update -qq && apt-get install -y -qq python3.13 python3.13-venv) >&2 \
    && works /usr/bin/python3.13 && { echo /usr/bin/python3.13; exit 0; }
fi
echo "error: Python 3.13 is needed for the Functions worker check; install python3.13 and python3.13-venv, or set PYTHON313=/path/to/python3.13" >&2
exit 1
