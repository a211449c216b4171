# Flux source-controller CRDs (GitRepository, OCIRepository, Bucket and their siblings), taken as
# data from the module zip on the Go module proxy. Applied by test/peers/kube at start.
flux_crds_default=1
flux_crds_version() { echo v1.10.1; }
flux_crds_bin() { echo "$1/crds"; }
flux_crds_install() {
  go_module_extract "$1/crds" "github.com/fluxcd/source-controller@$(flux_crds_version)" 'config/crd/bases/*.yaml'
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
