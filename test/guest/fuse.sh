#!/usr/bin/env bash
# FUSE end to end: the memfs libfuse server mounts itself inside the
# sandbox, and busybox applets work on the mount; the output must be what
# the same script prints natively on a tmpfs-like directory (the FUSE
# parts filtered: the mount line).  Then the server is killed under a
# waiting reader, which must get ENOTCONN-class errors, not hang.
#   fuse.sh KSENTRY MEMFS BUSYBOX PLATFORM PROCS
set -u
ks=$1 memfs=$2 busybox=$3 platform=$4 procs_bin=$5
if [[ $platform == kvm && ( ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ) ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
# Not under /tmp: the sandbox has a fresh tmpfs there.
t=$(mktemp -d "$PWD/fuse-test.XXXXXX")
trap 'rm -rf "$t"' EXIT
cp "$memfs" "$t/memfs"
cat >"$t/ops.sh" <<'OPS'
cd "$1" || exit 1
echo hello > a && cat a
mkdir -p d/e; echo two > d/b; ls; ls d
mv a d/c; ls d; cat d/c
rm d/b; ls d
seq 1 20000 > big; wc -l big; md5sum big; tail -c 20 big
dd if=big of=copy bs=4096 2>/dev/null; cmp big copy && echo copied
ln -s d/c link; readlink link; cat link
: > empty; wc -c < empty
echo 1234567890 > trunc; truncate -s 4 trunc 2>/dev/null || busybox truncate -s 4 trunc; cat trunc; echo
rmdir d/e; ls d
find . | sort
grep -c 7 big
echo old > r1; echo new > r2; mv r2 r1; cat r1; ls r2 2>/dev/null || echo "r2 gone"
# O_APPEND from two processes at once: no line lost or torn.
(for i in $(seq 150); do echo "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa $i"; done >> app) &
(for i in $(seq 150); do echo "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb $i"; done >> app) &
wait; wc -l < app; grep -c '^aa* [0-9]*$' app; grep -c '^bb* [0-9]*$' app
OPS
cat >"$t/sandbox.sh" <<SANDBOX
mkdir -p /tmp/m
$t/memfs /tmp/m -f -s &
i=0; while [ \$i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=\$((i+1)); done
grep ' /tmp/m ' /proc/mounts | cut -d' ' -f2,3
sh $t/ops.sh /tmp/m
umount /tmp/m; echo "umount \$?"
wait; echo "server exit \$?"
SANDBOX
fail=0
mkdir "$t/native"
(cd "$t" && "$busybox" sh "$t/ops.sh" "$t/native" >"$t/want" 2>&1)
timeout 120 "$ks" run --platform "$platform" --cwd / "$busybox" sh "$t/sandbox.sh" >"$t/got" 2>&1 </dev/null
echo "exit $?" >>"$t/got"
printf '/tmp/m fuse\n' >"$t/want.full"
cat "$t/want" >>"$t/want.full"
printf 'umount 0\nserver exit 0\nexit 0\n' >>"$t/want.full"
if diff -u "$t/want.full" "$t/got"; then
	echo "ok memfs over FUSE matches native"
else
	echo "FAIL memfs over FUSE differs from native"
	fail=1
fi

# The server dies while a reader waits on it: the reader fails, nothing hangs.
cat >"$t/kill.sh" <<KILL
mkdir -p /tmp/m
$t/memfs /tmp/m -f -s & pid=\$!
i=0; while [ \$i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=\$((i+1)); done
echo data > /tmp/m/f
kill -9 \$pid; wait \$pid
cat /tmp/m/f 2>/dev/null && echo "read after the server died" || echo "read failed as it must"
ls /tmp/m 2>/dev/null; echo "ls status \$?"
umount /tmp/m; echo "umount \$?"
KILL
timeout 60 "$ks" run --leak-check --platform "$platform" --cwd / "$busybox" sh "$t/kill.sh" \
	>"$t/got2" 2>&1 </dev/null
status=$?
if [[ $status -eq 0 ]] && grep -q "read failed as it must" "$t/got2" && grep -q "ls status 1" "$t/got2" &&
	grep -q "umount 0" "$t/got2" && grep -q "leak check: 0 memory-file bytes left" "$t/got2"; then
	echo "ok a dead server fails its callers and the mount comes off, nothing left behind"
else
	echo "FAIL dead server (exit $status):"
	cat "$t/got2"
	fail=1
fi
# umount -l (MNT_DETACH) with a file open on the mount: the name goes at
# once, the open file still reads through the server, and closing it (the
# last user) sends DESTROY, after which memfs exits by itself.
cat >"$t/detach.sh" <<DETACH
mkdir -p /tmp/m
$t/memfs --say-destroy /tmp/m -f -s & pid=\$!
i=0; while [ \$i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=\$((i+1)); done
echo kept > /tmp/m/f
exec 3< /tmp/m/f
umount -l /tmp/m; echo "umount -l \$?"
grep -q ' /tmp/m ' /proc/mounts && echo "still mounted" || echo "not in /proc/mounts"
echo "names under /tmp/m: \$(ls /tmp/m | wc -l)"
cat <&3
kill -0 \$pid && echo "server still serving"
exec 3<&-
wait \$pid; echo "server exit \$?"
DETACH
timeout 60 "$ks" run --leak-check --platform "$platform" --cwd / "$busybox" sh "$t/detach.sh" \
	>"$t/got3" 2>&1 </dev/null
status=$?
printf 'umount -l 0\nnot in /proc/mounts\nnames under /tmp/m: 0\nkept\nserver still serving\nmemfs: destroy, 0 lookups held\nserver exit 0\n' >"$t/want3"
if [[ $status -eq 0 ]] && diff -u "$t/want3" <(grep -v '^ksentry: leak check' "$t/got3") &&
	grep -q "leak check: 0 memory-file bytes left" "$t/got3"; then
	echo "ok umount -l: the open file still reads, its close sends DESTROY, memfs exits"
else
	echo "FAIL umount -l (exit $status):"
	cat "$t/got3"
	fail=1
fi
# Locks on a memfs mount: libfuse's high level without a lock op does not
# take FUSE_POSIX_LOCKS, so the sentry's own locks serve (as Linux's).
# Then mmap of files on it.
if [[ $platform == kvm ]]; then
	cp "$procs_bin" "$t/procs"
	procs=$t/procs
	cat >"$t/locks.sh" <<LOCKS
mkdir -p /tmp/m
$t/memfs /tmp/m -f &
i=0; while [ \$i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=\$((i+1)); done
$procs locks /tmp/m
$procs fusemap /tmp/m
umount /tmp/m; wait
LOCKS
	timeout 60 "$ks" run --platform "$platform" --cwd / "$busybox" sh "$t/locks.sh" >"$t/got4" 2>&1 </dev/null
	if grep -q '^locks ok$' "$t/got4"; then
		echo "ok locks on a FUSE mount"
	else
		echo "FAIL locks on a FUSE mount:"
		cat "$t/got4"
		fail=1
	fi
	# mmap of FUSE files: shared writes reach the server, Mapped counts
	# a file mapped by two processes once (procs.c test_fusemap).
	if grep -q '^fusemap ok$' "$t/got4"; then
		echo "ok mmap of FUSE files, shared and private; $(grep '^mapped:' "$t/got4")"
	else
		echo "FAIL mmap of FUSE files:"
		cat "$t/got4"
		fail=1
	fi
fi
# --stats counts FUSE requests by opcode, and shows the caches work: with
# memfs's timeouts of an hour, four stats of a file send what one sends;
# with timeouts 0, each sends its own.
if [[ $platform == kvm ]]; then
	cat >"$t/stat.sh" <<'STAT'
mkdir -p /tmp/m
$1 $2 /tmp/m -f -s &
i=0; while [ $i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=$((i+1)); done
echo x > /tmp/m/f
i=0; while [ $i -lt $3 ]; do stat /tmp/m/f >/dev/null; i=$((i+1)); done
umount /tmp/m; wait
STAT
	# asks MEMFS_FLAGS STATS: LOOKUPs + GETATTRs sent
	asks() {
		"$ks" run --stats --platform "$platform" --cwd / "$busybox" sh "$t/stat.sh" \
			"$t/memfs" "$1" "$2" 2>&1 </dev/null |
			awk '/^fuse requests/ { on = 1 } on && ($1 == "LOOKUP" || $1 == "GETATTR") { n += $2 } END { print n + 0 }'
	}
	c1=$(asks "--cache 3600" 1) c4=$(asks "--cache 3600" 4)
	u1=$(asks "--direct-io" 1) u4=$(asks "--direct-io" 4)
	if [[ $c1 -gt 0 && $c4 -eq $c1 && $u4 -ge $((u1 + 3)) ]]; then
		echo "ok --stats: cached stats send nothing ($c1 = $c4 asks), uncached send one each ($u1 -> $u4)"
	else
		echo "FAIL --stats and the caches: cached $c1 -> $c4, uncached $u1 -> $u4 (LOOKUP + GETATTR)"
		fail=1
	fi
fi
# Multi-threaded libfuse (its default loop, a thread per busy request),
# eight writers at once, with one device fd and with one per thread
# (-o clone_fd: FUSE_DEV_IOC_CLONE).  Threads need the KVM platform.
if [[ $platform == kvm ]]; then
	for opts in "" "-o clone_fd"; do
		cat >"$t/mt.sh" <<MT
mkdir -p /tmp/m
$t/memfs --say-destroy /tmp/m -f $opts 2>/tmp/mt.err &
i=0; while [ \$i -lt 200 ] && ! grep -q ' /tmp/m ' /proc/mounts; do sleep 0.05; i=\$((i+1)); done
for i in 1 2 3 4 5 6 7 8; do (seq 1 3000 > /tmp/m/f\$i; md5sum /tmp/m/f\$i | cut -d' ' -f1) & done
wait %2 %3 %4 %5 %6 %7 %8 %9 2>/dev/null
ls /tmp/m | wc -l
umount /tmp/m; wait
cat /tmp/mt.err
MT
		want=$(seq 1 3000 | md5sum | cut -d' ' -f1)
		timeout 120 "$ks" run --platform "$platform" --cwd / "$busybox" sh "$t/mt.sh" >"$t/got3" 2>&1 </dev/null
		# umount sends FUSE_DESTROY; the server's answer ends its loop.
		# (Its count of lookups held is not judged here: another thread
		# may still be taking the BATCH_FORGET queued before DESTROY.)
		if [[ $(grep -c "^$want$" "$t/got3") -eq 8 ]] && grep -q '^8$' "$t/got3" &&
			! grep -q "failed to clone" "$t/got3" && grep -qE "^memfs: destroy, [0-9]+ lookups held$" "$t/got3"; then
			echo "ok multi-threaded server ${opts:-(one device fd)}, eight writers at once, DESTROY at umount"
		else
			echo "FAIL multi-threaded server $opts:"
			cat "$t/got3"
			fail=1
		fi
	done
fi
exit $fail
