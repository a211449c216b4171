#!/usr/bin/env bash
# The Debian base of the controller image (docs/packaging.md#container-image): only what the Node
# binary and the Argo CD Git source need, extracted from Debian packages by mmdebstrap, with no
# package manager, no setuid or setgid file and no maintainer script ever run.
#
#   scripts/image-base.sh OUT     (as root: mmdebstrap --mode=root)
#
# writes OUT/rootfs (the root filesystem) and OUT/debian-packages.tsv (one line per package in it:
# name, version, architecture, source package, sha256 of the .deb, for the image's SBOM). Used by
# the `image-base` peer (scripts/peers.d/image-base.sh: cached by a hash of this file, so editing
# it makes a new base) and by the Dockerfile's `base` stage, so both images share one base.
set -euo pipefail

SUITE=bookworm
ARCH=amd64
MIRRORS=(
  "deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main"
)
# libc, the C++ runtime and libgcc (the node binary links them), CA certificates (the file
# SSL_CERT_FILE names), time zones, base-files (/etc/os-release: how scanners know the image's
# distribution and find its packages), and what the Argo CD source (src/source/argo-git.ts) runs:
# git, ssh (GIT_SSH_COMMAND, ssh:// repositories) and dash as /bin/sh (git runs GIT_SSH_COMMAND
# with it; the askpass script that hands git its HTTPS credentials is a `#!/bin/sh` script).
# A Flux-only image can leave out git, openssh-client and dash, and add libssl3 to DROP (then only
# openssl, dropped, would use it): docs/packaging.md#what-is-in-it.
INCLUDE=(base-files libc6 libstdc++6 libgcc-s1 ca-certificates tzdata git openssh-client dash)
# Dependencies the controller never uses: their files are removed and they are not listed (the
# check at the end fails if a program left in the base links a library they held).
# - Used only by maintainer scripts, which never run here (the CA bundle is assembled below):
#   debconf, openssl, mawk, dpkg and tar, debianutils (dash's add-shell), adduser and passwd
#   (openssh-client's), with passwd's PAM, SELinux-policy and audit libraries;
# - perl and git's Perl libraries: the git commands the controller runs (clone, fetch, ls-remote,
#   checkout, rev-parse) are built into the git binary; only git's Perl scripts (send-email,
#   svn, …) need Perl;
# - git-man: manual pages.
DROP=(
  debconf openssl mawk dpkg tar libacl1 debianutils adduser passwd
  libpam0g libpam-modules libpam-modules-bin libsemanage2 libsemanage-common libsepol2
  libaudit1 libaudit-common libcap-ng0
  perl perl-base perl-modules-5.36 libperl5.36 liberror-perl libgdbm6 libgdbm-compat4
  git-man
)

out=${1:?usage: scripts/image-base.sh OUT}
[ "$(id -u)" = 0 ] || { echo "image-base: needs root (mmdebstrap --mode=root)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "image-base: mmdebstrap missing (scripts/peers install image-tools)" >&2; exit 1; }
command -v readelf >/dev/null || { echo "image-base: readelf missing (apt-get install binutils)" >&2; exit 1; }
root="$out/rootfs"
rm -rf "$root"
mkdir -p "$out"

# Keep the downloaded .debs (skip cleanup/apt/cache) to list them, then remove apt's state.
SOURCE_DATE_EPOCH=0 mmdebstrap --mode=root --variant=extract --architectures="$ARCH" \
  --include="$(IFS=,; echo "${INCLUDE[*]}")" --skip=cleanup/apt/cache \
  "$SUITE" "$root" "${MIRRORS[@]}"

tsv="$out/debian-packages.tsv.tmp"
: >"$tsv"
mkdir -p "$root/var/lib/dpkg/status.d"
for deb in "$root"/var/cache/apt/archives/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  if printf '%s\n' "${DROP[@]}" | grep -qxF "$pkg"; then
    # Files first, then the directories that are left empty (deepest first).
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./||' | grep -v '/$' | grep . |
      while IFS= read -r f; do rm -f "$root/$f"; done
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./||' | grep '/$' | sort -r |
      while IFS= read -r d; do rmdir "$root/$d" 2>/dev/null || true; done
    continue
  fi
  # The package's control paragraph where distroless images keep it: scanners (Trivy, Grype, Syft)
  # read /var/lib/dpkg/status.d/* when there is no dpkg status database.
  { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } >"$root/var/lib/dpkg/status.d/$pkg"
  src=$(dpkg-deb -f "$deb" Source | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)" \
    "${src:-$pkg}" "$(sha256sum "$deb" | cut -d' ' -f1)" >>"$tsv"
done
LC_ALL=C sort -o "$tsv" "$tsv"

# What mmdebstrap leaves for apt and dpkg, the build host's resolv.conf and hostname (the runtime
# provides its own), device nodes (the runtime mounts /dev), documentation except the copyright
# files (their licences), translations (the controller runs git with LANG=C), shell completion,
# git's Perl modules (no Perl here).
rm -rf "$root"/var/cache/apt "$root"/var/lib/apt "$root"/var/log/apt "$root"/var/cache/debconf \
  "$root"/etc/apt "$root"/etc/dpkg "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/etc/fstab \
  "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/lintian "$root"/usr/share/locale \
  "$root"/usr/share/bash-completion "$root"/usr/share/perl5
# ssh-keysign, setuid root, is only for host-based authentication, which the controller never uses.
rm -f "$root"/usr/lib/openssh/ssh-keysign
# git's programs for serving, pushing and mail, which a client that only fetches never runs (the
# commands the controller runs are built into /usr/bin/git; https is git-remote-http).
rm -f "$root"/usr/bin/git-shell "$root"/usr/bin/scalar "$root"/usr/lib/git-core/git-shell \
  "$root"/usr/lib/git-core/scalar "$root"/usr/lib/git-core/git-daemon "$root"/usr/lib/git-core/git-http-backend \
  "$root"/usr/lib/git-core/git-http-push "$root"/usr/lib/git-core/git-imap-send
find "$root"/var/lib/dpkg -mindepth 1 -maxdepth 1 ! -name status.d -exec rm -rf {} +
find "$root"/dev -mindepth 1 -delete
find "$root"/usr/share/doc -type f ! -name copyright -delete
find "$root"/usr/share/doc -mindepth 1 -type d -empty -delete

# The CA bundle update-ca-certificates would write: every certificate ca-certificates ships, in
# the order of its /etc/ca-certificates.conf (sorted names).
mkdir -p "$root/etc/ssl/certs"
(cd "$root/usr/share/ca-certificates" && find . -name '*.crt' | sed 's|^\./||' | LC_ALL=C sort |
  while IFS= read -r c; do cat "$c"; done) >"$root/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"

# Users: root and the non-root user the controller runs as (the Deployment's runAsUser; ssh needs
# its passwd entry). Neither has a login shell.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/etc/nsswitch.conf
mkdir -p "$root"/root "$root"/home/nonroot "$root"/tmp "$root"/run "$root"/proc "$root"/sys "$root"/dev
chmod 0700 "$root"/root
chown 65532:65532 "$root"/home/nonroot
chmod 0755 "$root"/home/nonroot "$root"/run "$root"/proc "$root"/sys "$root"/dev
chmod 1777 "$root"/tmp

# Checks: no setuid or setgid file; /bin/sh is there for git; every ELF file's libraries (DT_NEEDED) are in
# the base (so a dropped package took nothing a kept program needs).
setid=$(find "$root" -xdev -type f -perm /6000)
[ -z "$setid" ] || { echo "image-base: setuid/setgid files: $setid" >&2; exit 1; }
[ ! -e "$root/usr/bin/git" ] || [ -x "$root/bin/sh" ] || { echo "image-base: git without /bin/sh" >&2; exit 1; }
missing=$(find "$root" -xdev -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
  while IFS= read -r -d '' f; do
    [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while IFS= read -r lib; do
      found=
      # (The file's own directory: gconv modules find their helpers through RUNPATH $ORIGIN.)
      for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 usr/lib lib "$(dirname "${f#"$root"/}")"; do
        if [ -e "$root/$d/$lib" ]; then found=1; break; fi
      done
      [ -n "$found" ] || echo "${f#"$root"/} needs $lib"
    done
  done)
[ -z "$missing" ] || { echo "image-base: libraries missing from the base:" >&2; echo "$missing" >&2; exit 1; }
mv "$tsv" "$out/debian-packages.tsv"
echo "image-base: $(wc -l <"$out/debian-packages.tsv") packages, $(du -sh --apparent-size "$root" | cut -f1) in $root"
