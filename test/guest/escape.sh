#!/usr/bin/env bash
# Escape attempts against the sandbox's root, one per test:
#   escape.sh KSENTRY BUSYBOX NODES CHECK
# CHECK is one of symlink-relative, symlink-absolute, dotdot,
# proc-self-root, hardlink, race, writes (each against a scratch --root),
# or default-root (the default root: host / read-only under a tmpfs).
# NODES is test/guest/nodes (its link-follow and link-fd tools make the
# linkat calls busybox cannot).
#
# A file outside the root holds a secret; no way of reaching it may work,
# and the host tree (the root and what is around it: types, modes, link
# counts, symlink targets and file contents) must be unchanged afterwards.
set -u
ks=$1 busybox=$2 nodes=$3 check=$4
t=$(mktemp -d)
racer=
cleanup() {
	[[ -n $racer ]] && kill "$racer" 2>/dev/null && wait "$racer" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT

root=$t/root
mkdir -p "$root"/{bin,tmp,dev,proc,data/d} "$t/rw"
cp "$busybox" "$root/bin/busybox"
cp "$nodes" "$root/bin/nodes"
echo SECRET > "$t/secret"
echo inside > "$root/data/d/f"
chmod 640 "$root/data/d/f"
ln -s ../../secret "$root/data/up"              # relative, climbs out on the host
ln -s "$t/secret" "$root/data/abs"               # absolute host path outside
ln -s / "$root/data/hostroot"                    # the host's / from the host's view
echo rw-inside > "$t/rw/own"
ln -s ../secret "$t/rw/out"                      # out of the --mount'ed dir
ln -s "$t/secret" "$t/rw/abs"

# Everything under $t but the rw mount, which the guest may change.
tree_sum() {
	(cd "$t" && find . -path ./rw -prune -o -path ./stop -prune -o \
		-printf '%y %m %n %u:%g %p -> %l\n' | LC_ALL=C sort &&
	 find . -path ./rw -prune -o -type f -exec md5sum {} + | LC_ALL=C sort) | md5sum
}
sum_before=$(tree_sum)

fail=0
run() { "$ks" run --root "$root" --cwd / /bin/busybox "$@" 2>&1; }
run_rw() { "$ks" run --root "$root" --mount "$t/rw:/rw:rw" --cwd / /bin/busybox "$@" 2>&1; }

ok() { echo "ok $1"; }
bad() { echo "FAIL $1${2:+: $2}"; fail=1; }

no_secret() { # NAME OUTPUT
	if grep -q SECRET <<<"$2"; then bad "$1" "read the secret"; printf '%s\n' "$2"; else ok "$1"; fi
}

# The secret has no second name anywhere on the host.
secret_unlinked() { # NAME
	local n
	n=$(stat -c %h "$t/secret")
	[[ $n == 1 ]] && ok "$1" || bad "$1" "the secret has $n links"
	if grep -rlq SECRET "$t/rw" "$root" 2>/dev/null; then
		bad "$1" "a copy of the secret appeared: $(grep -rl SECRET "$t/rw" "$root")"
	fi
}

case $check in
symlink-relative)
	no_secret relative-symlink "$(run cat /data/up)"
	no_secret relative-symlink-dir "$(run ls -la /data/up/ /data/up/../)"
	;;
symlink-absolute)
	no_secret absolute-symlink "$(run cat /data/abs)"
	no_secret via-host-root-link "$(run cat "/data/hostroot$t/secret")"
	out=$(run ls /data/hostroot/)
	grep -q secret <<<"$out" && bad hostroot-listing || ok hostroot-listing
	;;
dotdot)
	no_secret dotdot-at-root "$(run cat /../../../../secret "$t/secret" /data/../../secret)"
	no_secret dotdot-cd "$(run sh -c 'cd /; cd ..; cd ..; cat secret; cat ../secret; pwd')"
	;;
proc-self-root)
	no_secret proc-self-root "$(run cat /proc/self/root/secret /proc/1/root/secret \
		/proc/self/root/../secret /proc/self/cwd/../secret)"
	out=$(run readlink /proc/self/root)
	[[ $out == / ]] && ok proc-self-root-is-root || bad proc-self-root-is-root "$out"
	;;
hardlink)
	# In the root: links of the escaping symlinks are links of the
	# symlinks, which still resolve inside; following them finds nothing.
	no_secret hardlink-of-symlink "$(run sh -c 'ln /data/up /data/hl-up; ln /data/abs /data/hl-abs;
		cat /data/hl-up /data/hl-abs')"
	no_secret hardlink-follow "$(run sh -c '/bin/nodes link-follow /data/up /data/hl-f;
		/bin/nodes link-follow /data/abs /data/hl-f2;
		/bin/nodes link-follow /proc/self/root/../secret /data/hl-f3; cat /data/hl-f*')"
	# Through /proc/self/fd: fd 3 on a directory inside, fd 0 the host
	# secret itself (ksentry's stdin is the host's to give): neither
	# names anything outside to link.
	no_secret hardlink-proc-fd "$(run sh -c 'exec 3< /data/d
		ln /proc/self/fd/3/../../../secret /data/hl-p
		/bin/nodes link-follow /proc/self/fd/3/../../../secret /data/hl-p2
		/bin/nodes link-follow /proc/self/fd/0 /data/hl-in
		/bin/nodes link-fd 0 /data/hl-in2
		cat /data/hl-p /data/hl-p2 /data/hl-in /data/hl-in2' <"$t/secret")"
	# A --mount'ed rw directory: a link of a symlink out of it is a link
	# of the symlink, resolved inside; linking across mounts is EXDEV.
	no_secret hardlink-rw-mount "$(run_rw sh -c 'ln /rw/out /rw/hl-out; ln /rw/abs /rw/hl-abs;
		/bin/nodes link-follow /rw/out /rw/hl-f; /bin/nodes link-follow /rw/abs /rw/hl-f2;
		cat /rw/hl-out /rw/hl-abs /rw/hl-f /rw/hl-f2')"
	out=$(run_rw sh -c 'ln /data/d/f /rw/hl-x; echo "rc=$?"; ln /rw/own /data/hl-own; echo "rc=$?"')
	[[ $(grep -c '^rc=1$' <<<"$out") == 2 && ! -e $t/rw/hl-x ]] && ok hardlink-exdev ||
		bad hardlink-exdev "$out"
	# The same tools do make links that stay inside.
	out=$(run_rw sh -c 'exec 4< /data/d/f; /bin/nodes link-follow /data/d/f /data/hl-ok;
		/bin/nodes link-fd 4 /data/hl-ok2; ln /rw/own /rw/hl-own; cat /data/hl-ok /data/hl-ok2 /rw/hl-own')
	[[ $(grep -c '^inside$' <<<"$out") == 2 && $(grep -c '^rw-inside$' <<<"$out") == 1 &&
	   $(stat -c %h "$t/rw/own") == 2 ]] && ok hardlink-inside-works || bad hardlink-inside-works "$out"
	secret_unlinked hardlink-no-host-link
	;;
race)
	# A host process swaps /data/d for a symlink that, followed by the
	# host, leads to the secret's directory ($t), over and over, while
	# the guest walks through /data/d each time afresh.  The guest must
	# see the swap (the name is revalidated against the host) and must
	# resolve the symlink itself, inside the root.
	( while [[ ! -e $t/stop ]]; do
		mv "$root/data/d" "$root/data/d.real" 2>/dev/null
		ln -s ../.. "$root/data/d" 2>/dev/null
		sleep 0.002
		rm -f "$root/data/d"
		mv "$root/data/d.real" "$root/data/d" 2>/dev/null
		sleep 0.002
	  done ) &
	racer=$!
	out=$(run sh -c 'i=0 l=0 d=0
		while [ $i -lt 3000 ]; do
			read x < /data/d/secret && echo "got $x"
			read y < /data/d/../../secret && echo "got $y"
			if [ -L /data/d ]; then l=$((l+1)); elif [ -d /data/d ]; then d=$((d+1)); fi
			i=$((i+1))
		done 2>/dev/null; echo "saw link $l dir $d"; echo done')
	# Stop the racer between two swaps, when the tree is as it was.
	touch "$t/stop"; wait "$racer" 2>/dev/null; racer=
	rm -f "$t/stop"
	no_secret swap-race "$out"
	grep -q '^done$' <<<"$out" || bad swap-race "guest did not finish: $out"
	seen=$(sed -n 's/^saw link \([0-9]*\) dir \([0-9]*\)$/\1 \2/p' <<<"$out")
	echo "race: $seen (link, dir) of 3000 walks"
	read -r l d <<<"$seen"
	[[ ${l:-0} -gt 0 && ${d:-0} -gt 0 ]] && ok swap-race-seen ||
		bad swap-race-seen "the guest never saw both sides of the swap ($seen)"
	;;
writes)
	# Writes land in the sandbox's overlay, never in the host tree.
	out=$(run sh -c 'echo x > /data/new; echo x >> /data/d/f; chmod 777 /data/d/f;
		ln -s /elsewhere /data/up -f 2>/dev/null; rm /data/abs; mv /data/d /data/e;
		read a < /data/new; read b < /data/e/f; echo "$a $b"')
	grep -q '^x inside$' <<<"$out" && ok writes-in-sandbox || bad writes-in-sandbox "$out"
	;;
default-root)
	# The default root: host / read-only under a tmpfs.  Files planted
	# on the host for the guest to change (so that nothing real is at
	# stake if the overlay leaked), and names it would create.
	[[ $(id -u) == 0 ]] || { echo "SKIP: planting files in /etc and /usr needs root"; exit 77; }
	tag=ksentry-escape-$$
	planted=(/etc/$tag.append /etc/$tag.chmod /usr/share/$tag.rm /usr/bin/$tag.mv /usr/share/$tag.d/f)
	created=(/etc/ksentry-probe /etc/$tag.new /usr/bin/$tag.moved /usr/share/$tag.mkdir)
	cleanup_default() {
		rm -rf "${planted[@]}" "${created[@]}" "/usr/share/$tag.d"
		cleanup
	}
	trap cleanup_default EXIT
	[[ -e /etc/ksentry-probe ]] && { bad default-root "/etc/ksentry-probe exists before"; exit 1; }
	mkdir -p "/usr/share/$tag.d"
	for f in "${planted[@]}"; do echo "planted $f" > "$f"; chmod 644 "$f"; done
	state() {
		for f in "${planted[@]}"; do
			stat -c '%n %F %a %u:%g %s %h %i %Y' "$f"; md5sum "$f"
		done
		for f in "${created[@]}"; do [[ -e $f || -L $f ]] && echo "exists $f"; done
		md5sum /etc/passwd /etc/hostname 2>/dev/null
	}
	before=$(state)
	out=$("$ks" run --cwd / "$busybox" sh -c "
		echo probe > /etc/ksentry-probe && echo made-probe
		echo more >> /etc/$tag.append && echo appended
		echo more >> /etc/hostname; echo new > /etc/$tag.new
		rm /usr/share/$tag.rm && echo removed
		rm -r /usr/share/$tag.d && echo removed-dir
		mv /bin/$tag.mv /bin/$tag.moved && echo renamed
		chmod 600 /etc/$tag.chmod && chown 1:1 /etc/$tag.chmod && touch -d 2001-01-01 /etc/$tag.chmod && echo chmodded
		mkdir /usr/share/$tag.mkdir && echo mkdirred
		cat /etc/ksentry-probe; stat -c %a /etc/$tag.chmod; test -e /usr/share/$tag.rm || echo gone-inside
		ls /bin/$tag.moved
	" 2>&1)
	after=$(state)
	for w in made-probe appended removed removed-dir renamed chmodded mkdirred probe 600 gone-inside; do
		grep -qx "$w" <<<"$out" || { bad default-root-guest "the guest's '$w' did not happen"; }
	done
	grep -q "/bin/$tag.moved" <<<"$out" || bad default-root-guest "rename not seen inside"
	if [[ $before == "$after" ]]; then
		ok default-root-host-unchanged
	else
		bad default-root-host-unchanged "$(diff <(echo "$before") <(echo "$after"))"
	fi
	[[ $fail == 0 ]] || printf '%s\n' "$out"
	;;
*)
	echo "escape.sh: no check '$check'" >&2; exit 2 ;;
esac

if [[ $check != default-root ]]; then
	sum_after=$(tree_sum)
	[[ $sum_before == "$sum_after" ]] && ok host-tree-unchanged || bad host-tree-changed
	[[ $(stat -c %h "$t/secret") == 1 ]] || bad secret-links "the secret gained a link"
fi
[[ $fail == 0 ]] && echo "escape $check ok"
exit $fail
