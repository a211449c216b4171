# The Go module the Go program of docs/hot-reload.md imports (github.com/fsnotify/fsnotify, with
# its dependency golang.org/x/sys), downloaded from the Go module proxy into a module cache of its
# own (DIR/mod), with the go.mod and go.sum that require it (DIR/module). The test
# (test/docs/hot-reload-programs.test.ts) builds the doc's program next to that go.mod with
# GOMODCACHE=DIR/mod GOPROXY=off GOFLAGS=-mod=mod: the build needs no network.
go_fsnotify_default=1
go_fsnotify_version() { echo v1.10.1; }
go_fsnotify_bin() { echo "$1/module/go.sum"; }
go_fsnotify_install() {
  mkdir -p "$1/module" "$1/mod"
  (
    cd "$1/module"
    export GOMODCACHE="$1/mod" GOFLAGS=-mod=mod
    go mod init example.invalid/hot-reload-doc
    go get "github.com/fsnotify/fsnotify@$(go_fsnotify_version)"
    # every package the build needs (fsnotify's imports of golang.org/x/sys), not only go.mod files
    go mod download all
    # compile fsnotify and x/sys once, so the Go build cache holds them before the first test
    # (-trimpath here and in the test: cache keys that do not depend on this temporary path)
    mkdir -p "$1/warm"
    printf 'package main\n\nimport _ "github.com/fsnotify/fsnotify"\n\nfunc main() {}\n' > "$1/warm/main.go"
    cp go.mod go.sum "$1/warm/"
    (cd "$1/warm" && CGO_ENABLED=0 GOPROXY=off go build -trimpath -o /dev/null .)
    rm -rf "$1/warm"
    chmod -R u+w "$1/mod" # the module cache is read-only; let `rm -rf` of the cache work
  )
}
