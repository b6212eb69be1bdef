#!/usr/bin/env bash
# Print the path of a working Python 3.13 for the worker venv (the Azure Functions Python worker,
# azure-functions-runtime, runs only on 3.13+), getting one if the machine has none. In order:
#   1. one already here: $PYTHON313, python3.13 on the PATH, /usr/bin, /usr/local/bin, pyenv's and
#      uv's installed versions;
#   2. uv from PyPI (pinned below, in .work/uv with the base Python), then `uv python install 3.13`
#      (it downloads a standalone CPython from GitHub, python-build-standalone);
#   3. pyenv, when installed: `pyenv install 3.13` (downloads the source from python.org and builds it);
#   4. apt, as root, where the distribution has a python3.13 package (Debian 12 and Ubuntu 22.04/24.04
#      have none; Debian 13 and Ubuntu 24.10+ do).
# Progress goes to stderr; on failure the last line says what to install, and the exit status is 1.
set -uo pipefail
UV_VERSION=0.13.9
REPO="$(cd "$(dirname "$0")/.." && pwd)"
UV_HOME="${UV_HOME:-$REPO/.work/uv}"
tried=()

works() { [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; }
found() { echo "$1"; exit 0; }
say() { echo "find_python313: $*" >&2; }

# 1. already installed
for candidate in "${PYTHON313:-}" "$(command -v python3.13 2>/dev/null)" /usr/bin/python3.13 /usr/local/bin/python3.13 \
                 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
                 "${UV_PYTHON_INSTALL_DIR:-$HOME/.local/share/uv/python}"/cpython-3.13*/bin/python3.13; do
  if works "$candidate"; then found "$candidate"; fi
done

# 2. uv: on the PATH, else from PyPI into .work/uv
uv="$(command -v uv 2>/dev/null || true)"
if [ -z "$uv" ] && [ -x "$UV_HOME/bin/uv" ]; then uv="$UV_HOME/bin/uv"; fi
if [ -z "$uv" ]; then
  base="${PYTHON:-$(command -v python3 || true)}"
  if [ -n "$base" ] && say "no Python 3.13 here: installing uv $UV_VERSION from PyPI into $UV_HOME" \
      && "$base" -m venv "$UV_HOME" >&2 && "$UV_HOME/bin/pip" install --quiet "uv==$UV_VERSION" >&2; then
    uv="$UV_HOME/bin/uv"
  else
    tried+=("uv (could not be installed from PyPI)")
  fi
fi
if [ -n "$uv" ]; then
  candidate="$("$uv" python find --no-project 3.13 2>/dev/null || true)"
  if works "$candidate"; then found "$candidate"; fi
  say "uv python install 3.13 (downloads CPython from GitHub)"
  if UV_HTTP_TIMEOUT="${UV_HTTP_TIMEOUT:-30}" "$uv" python install 3.13 >&2; then
    candidate="$("$uv" python find --no-project 3.13 2>/dev/null || true)"
    if works "$candidate"; then found "$candidate"; fi
  fi
  tried+=("uv python install 3.13 (its download failed)")
fi

# 3. pyenv
if command -v pyenv >/dev/null 2>&1; then
  say "pyenv install 3.13 (downloads and builds CPython; takes minutes)"
  if pyenv install --skip-existing 3.13 >&2; then
    candidate="$(pyenv prefix 3.13 2>/dev/null)/bin/python3.13"
    if works "$candidate"; then found "$candidate"; fi
  fi
  tried+=("pyenv install 3.13 (failed)")
else
  tried+=("pyenv (not installed)")
fi

# 4. apt
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if apt-cache show python3.13 >/dev/null 2>&1 || { apt-get update -qq >&2 && apt-cache show python3.13 >/dev/null 2>&1; }; then
    say "installing the distribution's python3.13 and python3.13-venv"
    apt-get install -y -qq python3.13 python3.13-venv >&2 && works /usr/bin/python3.13 && found /usr/bin/python3.13
    tried+=("apt-get install python3.13 python3.13-venv (failed)")
  else
    tried+=("apt (this distribution has no python3.13 package)")
  fi
fi

echo "error: the Azure Functions Python worker needs Python 3.13 and none could be found or installed (tried: $(IFS=';'; echo "${tried[*]}" | sed 's/;/; /g')); install Python 3.13 (e.g. \`uv python install 3.13\` with network access to GitHub, or your distribution's python3.13) or set PYTHON313=/path/to/python3.13" >&2
exit 1
