#!/usr/bin/env bash
# The syscall path makes one KVM_RUN per guest syscall and no other vCPU
# ioctl: run a guest that makes N getpid calls under strace, twice (N and
# 2N), and check that the extra N calls cost exactly N more KVM_RUNs and
# no other ioctl at all.   one_exit.sh KSENTRY LOOP_GUEST
set -u
ks=$1 guest=$2
if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
command -v strace >/dev/null || { echo "strace is missing (scripts/deps.sh installs it)"; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
count() { # N -> "KVM_RUNs other_ioctls"
	# LeakSanitizer cannot run under ptrace (strace); the other tests run it.
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=ioctl -o "$t/trace.$1" \
		"$ks" run --platform kvm "$guest" "$1" || exit 1
	local runs others
	runs=$(grep -c 'KVM_RUN' "$t/trace.$1")
	others=$(grep -vc 'KVM_RUN' "$t/trace.$1")
	echo "$runs $others"
}
n=2000
read -r r1 o1 < <(count $n)
read -r r2 o2 < <(count $((2 * n)))
echo "N=$n: $r1 KVM_RUN, $o1 other ioctls; 2N: $r2 KVM_RUN, $o2 other ioctls"
fail=0
if [[ $((r2 - r1)) -ne $n ]]; then
	echo "FAIL: $n more syscalls took $((r2 - r1)) more KVM_RUNs"
	fail=1
fi
if [[ $o2 -ne $o1 ]]; then
	echo "FAIL: other ioctls grew with the syscall count ($o1 -> $o2)"
	grep -v KVM_RUN "$t/trace.$((2 * n))" | sort | uniq -c | sort -rn | head
	fail=1
fi
[[ $fail -eq 0 ]] && echo "ok one KVM_RUN per syscall, no other vCPU ioctl on the path"
exit $fail
