#!/usr/bin/env bash
# The syscall path makes one KVM_RUN per guest syscall and no other vCPU
# ioctl: run a guest that makes N getpid calls under strace, twice (N and
# 2N), and check that the extra N calls cost exactly N more KVM_RUNs, no
# other ioctl at all, and no other host syscall on the vCPU's thread.
#   one_exit.sh KSENTRY LOOP_GUEST
set -u
ks=$1 guest=$2
if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
command -v strace >/dev/null || { echo "strace is missing (scripts/deps.sh installs it)"; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
count() { # N -> "KVM_RUNs other_ioctls vcpu_thread_other_syscalls"
	# Every host syscall of every thread (strace -f, as strace -c -f would
	# count them).  LeakSanitizer cannot run under ptrace (strace); the
	# other tests run it.
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$t/trace.$1" \
		"$ks" run --platform kvm "$guest" "$1" || exit 1
	local runs others vcpu tid
	runs=$(grep -c 'KVM_RUN' "$t/trace.$1")
	others=$(grep 'ioctl(' "$t/trace.$1" | grep -vc 'KVM_RUN')
	# The thread that runs the guest: everything it does besides KVM_RUN.
	tid=$(grep -m1 'KVM_RUN' "$t/trace.$1" | awk '{print $1}')
	# ("resumed" lines continue a call already counted.)
	vcpu=$(awk -v t="$tid" '$1 == t' "$t/trace.$1" | grep -v 'resumed>' | grep -vc 'KVM_RUN')
	echo "$runs $others $vcpu"
}
summary() { # what the vCPU thread did, strace -c style: calls by name
	local tid
	tid=$(grep -m1 'KVM_RUN' "$t/trace.$1" | awk '{print $1}')
	awk -v t="$tid" '$1 == t && !/resumed>/ {sub(/\(.*/, "", $2); print $2}' "$t/trace.$1" |
		sort | uniq -c |
		sort -rn | head -8
}
n=2000
read -r r1 o1 v1 < <(count $n)
read -r r2 o2 v2 < <(count $((2 * n)))
echo "N=$n: $r1 KVM_RUN, $o1 other ioctls, $v1 other syscalls on the vCPU thread"
echo "2N:   $r2 KVM_RUN, $o2 other ioctls, $v2 other syscalls on the vCPU thread"
echo "the vCPU thread at 2N, by call:"
summary $((2 * n))
fail=0
if [[ $((r2 - r1)) -ne $n ]]; then
	echo "FAIL: $n more syscalls took $((r2 - r1)) more KVM_RUNs"
	fail=1
fi
if [[ $o2 -ne $o1 ]]; then
	echo "FAIL: other ioctls grew with the syscall count ($o1 -> $o2)"
	grep 'ioctl(' "$t/trace.$((2 * n))" | grep -v KVM_RUN | sort | uniq -c | sort -rn | head
	fail=1
fi
# Not equal: a lock the clock thread holds now and then costs a futex or
# two.  Anything the path itself did would cost at least N.
if [[ $((v2 - v1)) -ge $((n / 100)) ]]; then
	echo "FAIL: the vCPU thread made more host syscalls as the guest's grew ($v1 -> $v2)"
	fail=1
fi
[[ $fail -eq 0 ]] && echo "ok one KVM_RUN per syscall, no other host syscall on the path"
exit $fail
