# kube-apiserver and kubectl from k8s.io/kubernetes, whose go.mod pins the staging modules at
# v0.0.0 through local replaces: the wrapper module replaces each with its published tag.
kube_default=1
kube_version() { echo v1.37.2; }
kube_bin() { echo "$1/bin/kube-apiserver"; }
kube_install() {
  local v; v=$(kube_version)
  local staging="v0.${v#v1.}" minor; minor=$(echo "$v" | cut -d. -f2)
  local reps=() m
  for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client \
    cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator \
    kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission \
    sample-apiserver sample-cli-plugin sample-controller streaming; do
    reps+=("k8s.io/$m=k8s.io/$m@$staging")
  done
  local ldf="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  done
  go_build_wrapped "$1" "$ldf" "k8s.io/kubernetes@$v" "${reps[@]}" -- \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
}
