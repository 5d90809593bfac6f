#!/usr/bin/env bash
# The main job: install what is needed, build ksentry, and run a sandbox
# whose guest-side FUSE server (memfs, built against Debian's libfuse3.a)
# mounts itself inside the sandbox and serves a busybox shell session;
# then Debian's own dynamically linked programs in the sandbox.
#   scripts/demo.sh             the README's run command
#   scripts/demo.sh --built DIR the same session on an existing build
#                               directory (the `demo` test): no setup
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
if [[ ${1:-} == --built ]]; then
	build=$2
else
	scripts/deps.sh
	[[ -f build/build.ninja ]] || meson setup build >/dev/null
	ninja -C build >/dev/null
fi

case $build in /*) ;; *) build=$PWD/$build ;; esac
ks=$build/vmm/ksentry
$ks --version
$ks selfcheck
echo
echo "== a FUSE server inside the sandbox, and a shell using its mount:"
# Not under /tmp: the sandbox's /tmp is a fresh tmpfs of its own.
work=$(mktemp -d "$build/demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$build/fuse/server/memfs" "$work/memfs"
cat >"$work/session.sh" <<SESSION
mkdir -p /mnt/fuse
$work/memfs /mnt/fuse -f -s &
while ! grep -q ' /mnt/fuse ' /proc/mounts; do sleep 0.05; done
echo "mounted:  \$(grep ' /mnt/fuse ' /proc/mounts)"
cd /mnt/fuse
echo "hello through FUSE" > greeting
mkdir -p docs && seq 1 1000 > docs/numbers
ln -s docs/numbers link
ls -la . docs
cat greeting; wc -l < link; md5sum docs/numbers
cd /; umount /mnt/fuse; wait
echo "unmounted; the server exited with \$?"
SESSION
$ks run --debug /bin/busybox sh "$work/session.sh"
echo
echo "== Debian's own dynamically linked bash and python3, sandboxed:"
$ks run /bin/bash -c 'echo "bash $BASH_VERSION, pid $$, parent $PPID"; ls / | head -3'
$ks run /usr/bin/python3 -c 'import os, sys; print("python", sys.version.split()[0], "sees pid", os.getpid())' || true
echo
echo "== a static glibc program, traced:"
if [[ -x $build/test/guest/hello-glibc ]]; then
	$ks run --strace "$build/test/guest/hello-glibc"
fi
