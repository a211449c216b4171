# Argo CD Application and AppProject CRDs, taken as data from the argo-cd/v3 module zip on the Go
# module proxy (go_module_extract is in flux-crds.sh). Applied by test/peers/kube at start.
argo_crds_default=1
argo_crds_version() { echo v3.6.1; }
argo_crds_bin() { echo "$1/crds"; }
argo_crds_install() {
  go_module_extract "$1/crds" "github.com/argoproj/argo-cd/v3@$(argo_crds_version)" \
    manifests/crds/application-crd.yaml manifests/crds/appproject-crd.yaml
}
