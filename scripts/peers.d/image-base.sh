# The Debian base of the controller image (scripts/image-base.sh: mmdebstrap, root only), built once
# and reused by `npm run image` and test/packaging/image.kube.test.ts. Its cache key is the hash of
# scripts/image-base.sh: editing the recipe makes a new base. The packages are whatever the Debian
# mirror served at the first build (listed in debian-packages.tsv and the image's SBOM); remove the
# cache dir (`rm -rf "$(scripts/peers dir image-base)"`) to take Debian's updates.
image_base_default=1
image_base_version() { sha256sum "$REPO/scripts/image-base.sh" | cut -c1-12; }
image_base_bin() { echo "$1/debian-packages.tsv"; }
image_base_install() {
  command -v mmdebstrap >/dev/null || image_tools_install "$(mktemp -d)" || return 1
  "$REPO/scripts/image-base.sh" "$1"
}
