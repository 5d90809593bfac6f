#!/usr/bin/env bash
# Run a command and check what it did.
#   expect.sh [-k] [-x EXIT] [-o STDOUT_REGEX]... [-e STDERR_REGEX]... [-O EXACT_STDOUT_FILE] -- CMD...
# Every -o pattern must match a line of stdout, every -e a line of stderr
# (grep -E); -x is the exit status (default 0).  On a mismatch it prints
# what happened and exits 1.  -k: the command needs KVM; without a usable
# /dev/kvm the test is skipped (exit 77) and says why.
set -u
want_exit=0
outs=() errs=() exact=""
while [[ $# -gt 0 && $1 != -- ]]; do
	case $1 in
	-x) want_exit=$2; shift 2 ;;
	-o) outs+=("$2"); shift 2 ;;
	-e) errs+=("$2"); shift 2 ;;
	-O) exact=$2; shift 2 ;;
	-k) if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
		exit 77
	    fi
	    shift ;;
	*) echo "expect.sh: bad option $1" >&2; exit 2 ;;
	esac
done
shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout 120 "$@" >"$out" 2>"$err" </dev/null
got=$?
fail=0
if [[ $got != "$want_exit" ]]; then
	echo "exit status $got, wanted $want_exit"
	fail=1
fi
for p in "${outs[@]}"; do
	grep -qE -- "$p" "$out" || { echo "stdout lacks /$p/"; fail=1; }
done
for p in "${errs[@]}"; do
	grep -qE -- "$p" "$err" || { echo "stderr lacks /$p/"; fail=1; }
done
if [[ -n $exact ]] && ! diff -u "$exact" "$out"; then
	echo "stdout differs from $exact"
	fail=1
fi
if [[ $fail != 0 ]]; then
	echo "--- command: $*"
	echo "--- stdout:"; head -c 4000 "$out"
	echo "--- stderr:"; head -c 4000 "$err"
fi
exit $fail
