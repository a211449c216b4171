# crdcheck (test/api/crdcheck): our Go program around the apiserver's own CRD validation code.
# Its cache key is the hash of its sources.
crdcheck_default=1
crdcheck_version() { cat "$REPO"/test/api/crdcheck/{go.mod,go.sum,main.go} | sha256sum | cut -c1-12; }
crdcheck_bin() { echo "$1/bin/crdcheck"; }
crdcheck_install() {
  mkdir -p "$1/bin"
  (cd "$REPO/test/api/crdcheck" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/bin/crdcheck" .)
}
