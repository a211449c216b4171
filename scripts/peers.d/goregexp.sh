# goregexp (test/sops/goregexp): our Go program that evaluates (pattern, input) pairs with Go's
# regexp, the engine sops runs its encrypted_regex & co. on. Its cache key is the hash of its sources.
goregexp_default=1
goregexp_version() { cat "$REPO"/test/sops/goregexp/{go.mod,main.go} | sha256sum | cut -c1-12; }
goregexp_bin() { echo "$1/bin/goregexp"; }
goregexp_install() {
  mkdir -p "$1/bin"
  (cd "$REPO/test/sops/goregexp" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/bin/goregexp" .)
}
