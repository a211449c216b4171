# GCP Secret Manager emulator: drongo (PyPI), whose `drongo server` serves the Secret Manager v1
# REST API (HTTP/JSON) from memory. The Go emulator the research named
# (blackwell-systems/gcp-secret-manager-emulator) is refused by the Go module proxy here
# (403 "not available" for every version), so the Node client talks REST to this one
# (see test/peers/cloud/gcp.ts). Same venv layout as moto.sh.
gcp_sm_emulator_default=1
gcp_sm_emulator_version() { echo drongo-0.8.0; }
gcp_sm_emulator_bin() { echo "$1/bin/drongo"; }
gcp_sm_emulator_install() {
  local v; v=$(gcp_sm_emulator_version)
  # scripts/peers runs this where `set -e` does not apply: every step checks its own status.
  python3 -m venv "$1/venv" || return 1
  "$1/venv/bin/python" -m pip install --quiet "drongo==${v#drongo-}" || return 1
  mkdir -p "$1/bin" || return 1
  cat > "$1/bin/drongo" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/venv/bin/python" -c 'import sys; sys.argv[0] = "drongo"; from drongo.cli import main; sys.exit(main(sys.argv[1:]))' "$@"
SH
  chmod +x "$1/bin/drongo" || return 1
  "$1/bin/drongo" --version
}
