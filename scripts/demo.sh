#!/usr/bin/env bash
# The main job: install what is needed, build ksentry, and run programs in
# the sandbox: Debian's static busybox, and a static C program printing its
# own view of the system.  Once the FUSE issue lands, this becomes the
# guest-side FUSE server demo.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

ks=./build/vmm/ksentry
$ks --version
$ks selfcheck
echo
echo "== busybox, sandboxed:"
$ks run --debug /bin/busybox echo "hello from busybox inside ksentry"
$ks run /bin/busybox uname -a
echo
echo "== a static glibc program, traced:"
$ks run --strace build/test/guest/hello-glibc
