#!/usr/bin/env bash
# CI smoke test of `ksentry bench syscall --quick` on one platform: every
# row is there with a sandbox figure and a baseline above 0 and their
# ratio, and the probe result heads it.  Figures are not judged: CI
# machines vary too much (docs/perf.md has them, with the command).
#   bench_syscall_smoke.sh KSENTRY PLATFORM
set -u
ks=$1 platform=$2
if [[ $platform == kvm && ( ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ) ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
out=$(timeout 100 "$ks" bench syscall --quick --platform "$platform" </dev/null 2>&1) || {
	echo "ksentry bench syscall failed:"; echo "$out"; exit 1; }
echo "$out"
fail=0
grep -q "^ksentry bench syscall --quick: platform $platform" <<<"$out" ||
	{ echo "FAIL: no platform line"; fail=1; }
for row in "getpid round trip" "getpid" "clock_gettime(MONOTONIC)" "page fault, 16-page window" \
	"fresh memory touched in order/page" "first touch of a pre-mapped page" \
	"pipe ping-pong, two processes" "fork + exit + wait" "clock_gettime via libc (vDSO)"; do
	# NAME  SANDBOX  BASELINE  OF  RATIOx
	# (the name is the first 34 columns, %-34s)
	line=$(awk -v r="$row" '{ n = substr($0, 1, 34); sub(/ +$/, "", n) } n == r' <<<"$out")
	if ! awk '{ split(substr($0, 35), f, " ");
		exit !(f[1] > 0 && f[2] > 0 && f[4] ~ /^[0-9.]+x$/) }' <<<"$line"; then
		echo "FAIL: row '$row' lacks figures: '$line'"
		fail=1
	fi
done
[[ $fail -eq 0 ]] && echo "ok bench syscall rows"
exit $fail
