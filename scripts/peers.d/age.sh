# age and age-keygen: fresh test keys.
age_default=1
age_version() { echo v1.3.2; }
age_bin() { echo "$1/bin/age-keygen"; }
age_install() {
  go_install "$1" "filippo.io/age/cmd/age@$(age_version)" "filippo.io/age/cmd/age-keygen@$(age_version)"
}
