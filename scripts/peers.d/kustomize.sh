# kustomize CLI (release tags carry no replace directives; master does, so pin a tag).
kustomize_default=1
kustomize_version() { echo v5.8.1; }
kustomize_bin() { echo "$1/bin/kustomize"; }
kustomize_install() { go_install "$1" "sigs.k8s.io/kustomize/kustomize/v5@$(kustomize_version)"; }
