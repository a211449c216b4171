# sops CLI: creates test fixtures and is the reference our native decryption is checked against.
sops_default=1
sops_version() { echo v3.13.2; }
sops_bin() { echo "$1/bin/sops"; }
sops_install() { go_install "$1" "github.com/getsops/sops/v3/cmd/sops@$(sops_version)"; }
