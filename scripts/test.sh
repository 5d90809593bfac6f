#!/usr/bin/env bash
# The whole test suite: install what is needed, build, and run every test,
# once in a plain build and once under AddressSanitizer + UBSan.
# Tests that need /dev/kvm exit 77 and are reported as skipped, with the
# reason in the test log; they never pass silently.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1

passed=0 failed=0 skipped=0

# run_suite BUILDDIR [MESON OPTIONS...]
run_suite() {
	local dir=$1
	shift
	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" -Dwerror=true "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
	local out
	out=$(meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1)
	echo "$out" | grep -vE '^\s*$' | grep -E 'OK|FAIL|SKIP|TIMEOUT|ERROR|^Ok:|^Fail:|^Skipped:' >&2
	local ok fail skip to
	ok=$(echo "$out" | sed -n 's/^Ok: *\([0-9]*\).*/\1/p')
	fail=$(echo "$out" | sed -n 's/^Fail: *\([0-9]*\).*/\1/p')
	skip=$(echo "$out" | sed -n 's/^Skipped: *\([0-9]*\).*/\1/p')
	to=$(echo "$out" | sed -n 's/^Timeout: *\([0-9]*\).*/\1/p')
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0} + ${to:-0}))
	skipped=$((skipped + ${skip:-0}))
	[[ -n $ok ]] || { echo "$out" >&2; return 1; }
}

status=0
echo "== plain build" >&2
run_suite build || status=1
echo "== sanitize build (address, undefined)" >&2
run_suite build-sanitize -Dsanitize=true || status=1

[[ $failed -eq 0 ]] || status=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
