#!/usr/bin/env bash
# --mount HOST:GUEST:rw writes through to the host, and only beneath HOST:
# symlinks the guest makes are resolved inside the sandbox, links out of
# the mount are EXDEV, device nodes cannot be made, and a :ro mount (and
# the rest of the host) stays untouched.   mount_rw.sh KSENTRY BUSYBOX
set -u
ks=$1 busybox=$2
t=$(mktemp -d "$PWD/mount-rw.XXXXXX")
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/share/sub" "$t/ro"
echo original > "$t/share/keep"
echo ro > "$t/ro/f"
echo SECRET > "$t/secret"
out=$("$ks" run --mount "$t/share:/share:rw" --mount "$t/ro:/ro" --cwd / "$busybox" sh -c '
	echo written > /share/new && echo ok-create
	mkdir -p /share/d/e && echo deep > /share/d/e/f && echo ok-mkdir
	mv /share/new /share/sub/moved && echo ok-rename
	ln -s /share/keep /share/link && cat /share/link
	ln /share/keep /share/hard && echo ok-link
	chmod 600 /share/keep && stat -c %a /share/keep
	: > /share/sub/moved; echo truncated
	rm /share/hard /share/d/e/f && rmdir /share/d/e && echo ok-remove
	ln -s ../secret /share/up; cat /share/up 2>&1 | grep -q SECRET && echo LEAK-up || echo ok-up
	ln -s / /share/root; echo x > /share/root/pwned; echo ok-root
	ln /share/keep /tmp/hard 2>/dev/null && echo LEAK-link || echo ok-exdev
	mknod /share/null c 1 3 2>/dev/null && echo LEAK-mknod || echo ok-mknod
	echo no > /ro/f 2>/dev/null && echo LEAK-ro || echo ok-ro
' 2>&1)
echo "$out"
fail=0
for want in ok-create ok-mkdir ok-rename original ok-link 600 truncated ok-remove ok-up ok-root \
	ok-exdev ok-mknod ok-ro; do
	grep -qx -- "$want" <<<"$out" || { echo "FAIL: no '$want' from the guest"; fail=1; }
done
grep -q LEAK <<<"$out" && { echo "FAIL: a write escaped"; fail=1; }
# What the host sees.
[[ $(cat "$t/share/sub/moved" 2>/dev/null | wc -c) -eq 0 && -f "$t/share/sub/moved" ]] ||
	{ echo "FAIL: the renamed file is not on the host"; fail=1; }
[[ $(cat "$t/share/d/e/f" 2>/dev/null) == "" && ! -e "$t/share/d/e" ]] ||
	{ echo "FAIL: rmdir did not reach the host"; fail=1; }
[[ $(stat -c %a "$t/share/keep") == 600 ]] || { echo "FAIL: chmod did not reach the host"; fail=1; }
[[ -L "$t/share/link" && ! -e "$t/share/hard" ]] || { echo "FAIL: links on the host"; fail=1; }
[[ ! -e "$t/share/null" && ! -e "$t/pwned" && ! -e /pwned ]] || { echo "FAIL: written outside"; fail=1; }
[[ $(cat "$t/ro/f") == ro && $(cat "$t/secret") == SECRET ]] || { echo "FAIL: the host changed"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok rw mount: writes reach the host beneath HOST only"
exit $fail
