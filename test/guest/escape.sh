#!/usr/bin/env bash
# Escape attempts against a --root sandbox.  A file outside the root holds
# a secret; every way a guest might reach it must fail, and the host tree
# used as the root must be byte-for-byte unchanged afterwards.
#   escape.sh KSENTRY BUSYBOX
set -u
ks=$1 busybox=$2
t=$(mktemp -d)
trap 'kill $racer 2>/dev/null; rm -rf "$t"' EXIT
racer=
root=$t/root
mkdir -p "$root"/{bin,tmp,dev,proc,data/d}
cp "$busybox" "$root/bin/busybox"
echo SECRET > "$t/secret"
echo inside > "$root/data/d/f"
ln -s ../../secret "$root/data/up"              # relative, climbs out on the host
ln -s "$t/secret" "$root/data/abs"               # absolute host path outside
ln -s / "$root/data/hostroot"                    # the host's / from the host's view
sum_before=$(cd "$root" && find . -type f -exec md5sum {} + | sort | md5sum)

fail=0
run() { "$ks" run --root "$root" --cwd / /bin/busybox "$@" 2>&1; }

check_no_secret() { # NAME OUTPUT
	if grep -q SECRET <<<"$2"; then
		echo "FAIL $1: read the secret"; fail=1
	else
		echo "ok $1"
	fi
}

check_no_secret relative-symlink "$(run cat /data/up)"
check_no_secret absolute-symlink "$(run cat /data/abs)"
check_no_secret dotdot-at-root "$(run cat /../../../../secret "$t/secret")"
check_no_secret proc-self-root "$(run cat /proc/self/root/secret /proc/1/root/secret)"
check_no_secret via-host-root-link "$(run cat "/data/hostroot$t/secret")"
out=$(run ls /data/hostroot/)
if grep -q secret <<<"$out"; then echo "FAIL hostroot-listing"; fail=1; else echo "ok hostroot-listing"; fi

# A host process swaps a directory for a symlink pointing outside, over
# and over, while the guest walks through it.
( while [[ ! -e $t/stop ]]; do
	mv "$root/data/d" "$root/data/d.real" 2>/dev/null
	ln -s ../.. "$root/data/d" 2>/dev/null
	rm -f "$root/data/d"
	mv "$root/data/d.real" "$root/data/d" 2>/dev/null
  done ) &
racer=$!
out=$(run sh -c 'i=0; while [ $i -lt 400 ]; do read x < /data/d/secret && echo "got $x"; read y < /data/d/../../secret && echo "got $y"; i=$((i+1)); done; echo done')
# Stop the racer between two swaps, when the tree is as it was.
touch "$t/stop"; wait $racer 2>/dev/null; racer=
check_no_secret swap-race "$out"
grep -q '^done$' <<<"$out" || { echo "FAIL swap-race: guest did not finish"; fail=1; }

# Writes land in the sandbox's overlay, never in the host tree.
out=$(run sh -c 'echo x > /data/new; echo x >> /data/d/f; read a < /data/new; read b < /data/d/f; echo "$a $b"')
grep -q '^x inside$' <<<"$out" && echo "ok writes-in-sandbox" || { echo "FAIL writes-in-sandbox: $out"; fail=1; }
sum_after=$(cd "$root" && find . -type f -exec md5sum {} + | sort | md5sum)
[[ $sum_before == "$sum_after" ]] && echo "ok host-root-unchanged" || { echo "FAIL host-root-changed"; fail=1; }
[[ $fail == 0 ]] && echo "escape ok"
exit $fail
