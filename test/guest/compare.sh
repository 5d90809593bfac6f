#!/usr/bin/env bash
# Run busybox sh scripts in the sandbox and natively, and compare what
# they print (stdout and stderr together, and the exit status).  Each
# script gets a fresh scratch directory as $1; its path is replaced by
# SCRATCH in both outputs, and lines that differ by nature (times, device
# numbers) are kept out of the scripts rather than filtered.
#   compare.sh KSENTRY BUSYBOX [PLATFORM] SCRIPT...
set -u
ks=$1 busybox=$2 platform=$3
shift 3
if [[ $platform == kvm && ( ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ) ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
fail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
for script in "$@"; do
	script=$(realpath "$script")
	name=$(basename "$script" .sh)
	mkdir -p "$t/native" && rm -rf "$t/native"/* 
	(cd "$t" && timeout 120 "$busybox" sh "$script" "$t/native" >"$t/want" 2>&1; echo "exit $?" >>"$t/want")
	sed -i "s|$t/native|SCRATCH|g" "$t/want"
	timeout 120 "$ks" run --platform "$platform" --cwd / "$busybox" sh "$script" /tmp/scratch \
		>"$t/got" 2>&1 </dev/null
	echo "exit $?" >>"$t/got"
	sed -i "s|/tmp/scratch|SCRATCH|g" "$t/got"
	if diff -u "$t/want" "$t/got" >"$t/diff"; then
		echo "ok $name"
	else
		echo "FAIL $name: sandbox differs from native"
		cat "$t/diff"
		fail=1
	fi
done
exit $fail
