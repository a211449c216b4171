# Shared build helpers for scripts/peers.d/*.sh (sourced by scripts/peers).

# go_install DIR module@version...: `go install` into DIR/bin (modules without replace directives).
go_install() {
  local dir=$1; shift
  mkdir -p "$dir/bin"
  for mod in "$@"; do
    CGO_ENABLED=0 GOBIN="$dir/bin" GOFLAGS=-trimpath go install -ldflags "-s -w" "$mod"
  done
}

# go_build_wrapped DIR LDFLAGS module@version [old=new@version...] -- package...
# Modules whose go.mod carries replace directives cannot be `go install`ed: build them from a
# throw-away wrapper module that repeats the replacements.
go_build_wrapped() {
  local dir=$1 ldflags=$2 req=$3; shift 3
  local replaces=() pkgs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do replaces+=("$1"); shift; done
  shift; pkgs=("$@")
  mkdir -p "$dir/bin" "$dir/src"
  (
    cd "$dir/src"
    go mod init example.invalid/smc-peers
    for r in "${replaces[@]}"; do go mod edit -replace="$r"; done
    go get "$req"
    for p in "${pkgs[@]}"; do
      CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$dir/bin/$(basename "$p")" "$p"
    done
  )
  rm -rf "$dir/src"
}
