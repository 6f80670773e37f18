#!/usr/bin/env bash
# Runs inside the builder stage of deploy/docker/Containerfile. For each binary
# given, makes OUT/<name>/ a complete root filesystem for a FROM-scratch image:
#   usr/local/bin/<name>              the binary, debug info stripped (symbols kept)
#   usr/local/bin/entrypoint          symlink to it (ENTRYPOINT cannot expand ARGs)
#   <lib paths as ldd reports them>   the binary's shared-library closure + ld.so
#   etc/passwd, etc/group             root and mlops (65532:65532), for getpwuid
#   etc/nsswitch.conf                 files, then dns (glibc's defaults, made explicit)
#   etc/ssl/certs/ca-certificates.crt Debian's CA bundle (TLS to Postgres or peers)
#   tmp/                              1777 (the chart mounts an emptyDir over it)
# Usage: rootfs.sh OUT BINARY...
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: rootfs.sh OUT BINARY..." >&2; exit 2; }
out=$1
shift

for bin in "$@"; do
  name=$(basename "$bin")
  root="$out/$name"
  rm -rf "$root"
  mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp"
  objcopy --strip-debug "$bin" "$root/usr/local/bin/$name"
  ln -s "$name" "$root/usr/local/bin/entrypoint"
  # "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
  libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  if ldd "$bin" | grep -q "not found"; then
    echo "rootfs.sh: $bin has unresolved libraries:" >&2
    ldd "$bin" | grep "not found" >&2
    exit 1
  fi
  for lib in $libs; do
    cp -L --parents "$lib" "$root"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nmlops:x:65532:65532:mlops:/tmp:/sbin/nologin\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nmlops:x:65532:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  chmod 1777 "$root/tmp"
  echo "rootfs.sh: $name: $(du -sh "$root" | cut -f1) ($(wc -w <<<"$libs") libraries)"
done
