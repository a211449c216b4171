# moto server (PyPI) for AWS Secrets Manager and SSM Parameter Store, in a venv inside the cache dir.
# The venv is built in a temporary dir that is renamed into place, so console scripts (whose
# shebangs hold the build path) are not used: bin/moto_server runs the venv's python by a path
# relative to itself.
moto_default=1
moto_version() { echo 5.2.5; }
moto_bin() { echo "$1/bin/moto_server"; }
moto_install() {
  # scripts/peers runs this where `set -e` does not apply: every step checks its own status.
  python3 -m venv "$1/venv" || return 1
  "$1/venv/bin/python" -m pip install --quiet "moto[server]==$(moto_version)" || return 1
  mkdir -p "$1/bin" || return 1
  cat > "$1/bin/moto_server" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/venv/bin/python" -c 'import sys; sys.argv[0] = "moto_server"; from moto.server import main; sys.exit(main())' "$@"
SH
  chmod +x "$1/bin/moto_server" || return 1
  "$1/bin/moto_server" --help >/dev/null
}
