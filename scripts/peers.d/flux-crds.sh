# Flux source-controller CRDs (GitRepository, OCIRepository, Bucket and their siblings) and the
# notification-controller's Provider CRD (spec.notifications.fluxcd), taken as data from the module
# zips on the Go module proxy. Applied by test/peers/kube at start.
# (The proxy serves notification-controller v1.9.3 but refuses v1.10.x and the version list.)
flux_crds_default=1
flux_source_controller_version() { echo v1.10.1; }
flux_notification_controller_version() { echo v1.9.3; }
flux_crds_version() { echo "$(flux_source_controller_version)-notification-$(flux_notification_controller_version)"; }
flux_crds_bin() { echo "$1/crds"; }
flux_crds_install() {
  go_module_extract "$1/crds" "github.com/fluxcd/source-controller@$(flux_source_controller_version)" \
    'config/crd/bases/*.yaml'
  go_module_extract "$1/crds" "github.com/fluxcd/notification-controller@$(flux_notification_controller_version)" \
    config/crd/bases/notification.toolkit.fluxcd.io_providers.yaml
}

# go_module_extract DEST module@version GLOB...: copy files out of a module zip from the Go module
# proxy into DEST (flattened). Reads the verified zip in the module cache directly instead of
# `.Dir`: `go mod download` refuses to extract a module whose go.mod needs a newer Go than the local
# toolchain (source-controller v1.10 and argo-cd v3.6 declare go 1.27), but it has already
# downloaded and checksum-verified the zip by then.
go_module_extract() {
  local dest=$1 mod=$2; shift 2
  local tmp json zip g pats=()
  tmp=$(mktemp -d)
  json=$(cd "$tmp" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$mod" 2>&1 || true)
  rmdir "$tmp"
  echo "$json"
  zip=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$zip" ] || [ ! -f "$zip" ] || [ ! -f "${zip%.zip}.ziphash" ]; then
    echo "go_module_extract: no verified zip for $mod" >&2; return 1
  fi
  for g in "$@"; do pats+=("${mod}/$g"); done
  mkdir -p "$dest"
  unzip -o -j "$zip" "${pats[@]}" -d "$dest"
  ls "$dest"/* >/dev/null
}
