# Daemonless OCI image tools, from Debian (apt): mmdebstrap (the Debian base of `npm run image`),
# umoci (unpacks the image in test/packaging/image.kube.test.ts), skopeo (writes the
# docker-archive tarball; pushes the OCI layout to a registry) are installed into the system with
# apt-get (root only, as CI runs); the cache dir holds links to them, so a removed package makes the
# peer missing again. docker-registry (the distribution registry the test pushes the layout to, on
# 127.0.0.1) is only unpacked into the cache dir (`apt-get download`): installing it would enable a
# system service listening on :5000.
image_tools_default=1
image_tools_version() { echo debian-mmdebstrap-umoci-skopeo-registry-2; }
image_tools_bin() { echo "$1/bin/umoci"; }
image_tools_install() {
  local t missing=()
  for t in mmdebstrap umoci skopeo; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "image-tools: ${missing[*]} missing and installing them needs root (apt-get install ${missing[*]})"; return 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } || return 1
  fi
  mkdir -p "$1/bin" || return 1
  for t in mmdebstrap umoci skopeo; do ln -s "$(command -v "$t")" "$1/bin/$t" || return 1; done
  (cd "$1" && apt-get download docker-registry) || return 1
  dpkg-deb -x "$1"/docker-registry_*.deb "$1/registry" || return 1
  rm -f "$1"/docker-registry_*.deb
  ln -s ../registry/usr/bin/docker-registry "$1/bin/docker-registry" || return 1
  mmdebstrap --version && umoci --version && skopeo --version && "$1/bin/docker-registry" --version
}
