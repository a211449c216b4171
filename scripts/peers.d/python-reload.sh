# Python for the hot-reload programs of docs/hot-reload.md (test/docs/hot-reload-programs.test.ts):
# a venv with watchdog (the file watcher the doc's program uses) and Flask (its HTTP endpoint),
# from PyPI, pinned. bin/python runs the venv's interpreter by a path relative to itself (the venv
# is built in a temporary directory that is renamed into place, as moto.sh does).
python_reload_default=1
python_reload_version() { echo watchdog-7.1.1-flask-3.1.3; }
python_reload_bin() { echo "$1/bin/python"; }
python_reload_install() {
  # scripts/peers runs this where `set -e` does not apply: every step checks its own status.
  python3 -m venv "$1/venv" || return 1
  "$1/venv/bin/python" -m pip install --quiet "watchdog==7.1.1" "flask==3.1.3" || return 1
  mkdir -p "$1/bin" || return 1
  cat > "$1/bin/python" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/venv/bin/python" "$@"
SH
  chmod +x "$1/bin/python" || return 1
  "$1/bin/python" -c 'import watchdog.observers, flask'
}
