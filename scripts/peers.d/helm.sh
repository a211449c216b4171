# Helm CLI (lint and template the chart in charts/). helm v4's go.mod has no replace directives;
# the version ldflag is what the upstream Makefile sets, so `helm version` reports the pinned tag.
helm_default=1
helm_version() { echo v4.3.1; }
helm_bin() { echo "$1/bin/helm"; }
helm_install() {
  mkdir -p "$1/bin"
  CGO_ENABLED=0 GOBIN="$1/bin" GOFLAGS=-trimpath go install \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$(helm_version)" \
    "helm.sh/helm/v4/cmd/helm@$(helm_version)"
}
