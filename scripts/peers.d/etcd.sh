# etcd 3.6 for kube-apiserver (Debian's 3.4 is too old). server/go.mod has replace directives.
etcd_default=1
etcd_version() { echo v3.6.16; }
etcd_bin() { echo "$1/bin/etcd"; }
etcd_install() {
  go_build_wrapped "$1" "-s -w" "go.etcd.io/etcd/server/v3@$(etcd_version)" -- go.etcd.io/etcd/server/v3
  mv "$1/bin/v3" "$1/bin/etcd"
}
