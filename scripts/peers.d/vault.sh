# HashiCorp Vault server (dev mode, transit engine) for SOPS files whose data key is wrapped by
# Vault transit. Vault's go.mod replaces its api/sdk submodules with local directories, which a
# module download does not carry: the wrapper module replaces each with its published tag.
vault_version() { echo v1.21.4; }
vault_bin() { echo "$1/bin/vault"; }
vault_install() {
  go_build_wrapped "$1" "-s -w" "github.com/hashicorp/vault@$(vault_version)" \
    "github.com/hashicorp/vault/api=github.com/hashicorp/vault/api@v1.22.0" \
    "github.com/hashicorp/vault/api/auth/approle=github.com/hashicorp/vault/api/auth/approle@v0.10.0" \
    "github.com/hashicorp/vault/api/auth/kubernetes=github.com/hashicorp/vault/api/auth/kubernetes@v0.10.0" \
    "github.com/hashicorp/vault/api/auth/userpass=github.com/hashicorp/vault/api/auth/userpass@v0.10.0" \
    "github.com/hashicorp/vault/sdk=github.com/hashicorp/vault/sdk@v0.20.0" \
    "github.com/99designs/keyring=github.com/Jeffail/keyring@v1.2.3" \
    "github.com/ma314smith/signedxml@v1.1.1=github.com/moov-io/signedxml@v1.1.1" \
    -- github.com/hashicorp/vault
}
