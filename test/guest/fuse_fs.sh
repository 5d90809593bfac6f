#!/usr/bin/env bash
# The guest-side FUSE servers as file systems: memfs and passthrough each
# mount themselves (libfuse's fuse_session_mount), then on the mount
#   - the files guest (about 300 file syscall checks) passes,
#   - fuse-big passes: a 1 GiB sparse file read back, a punched hole,
#     SEEK_DATA/SEEK_HOLE (memfs keeps holes), 10,000 names listed,
#   - the busybox applet script of the VFS tests (scripts/files.sh)
#     prints what it prints on a plain directory.
#   fuse_fs.sh sandbox KSENTRY BUSYBOX MEMFS PASSTHROUGH FILES FUSE_BIG FILES_SH
#   fuse_fs.sh native BUSYBOX MEMFS PASSTHROUGH FILES FUSE_BIG FILES_SH
# "sandbox" runs it all inside `ksentry run` on KVM, against the sandbox's
# tmpfs; "native" runs the same binaries on the host's Linux FUSE against
# a host directory.  Both mount with -o default_permissions, so that
# Linux checks modes as the sentry does (the files guest tests X_OK).
set -u
where=$1
shift
if [[ $where == sandbox ]]; then
	ks=$1
	shift
	if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
		exit 77
	fi
elif [[ ! -c /dev/fuse || $(id -u) -ne 0 ]]; then
	echo "SKIP: mounting the servers on the host's FUSE needs /dev/fuse and root"
	exit 77
fi
busybox=$1 memfs=$2 passthrough=$3 files_bin=$4 big_bin=$5 files_sh=$6
t=$(mktemp -d "$PWD/fuse-fs.XXXXXX")
trap 'umount "$t/m" 2>/dev/null; rm -rf "$t"' EXIT
cp "$memfs" "$passthrough" "$files_bin" "$big_bin" "$files_sh" "$t/"
memfs=$t/$(basename "$memfs") passthrough=$t/$(basename "$passthrough")
files_bin=$t/$(basename "$files_bin") big_bin=$t/$(basename "$big_bin")
files_sh=$t/$(basename "$files_sh")

# One server's round, as a busybox sh script: $1 memfs|passthrough,
# $2 the mount point, $3 the passthrough's source, $4 the plain directory
# the applet script also runs in.
cat >"$t/round.sh" <<ROUND
mnt=\$2 src=\$3 plain=\$4 out=\$(dirname "\$4")/fuse-fs
mkdir -p "\$mnt" "\$src"
if [ "\$1" = memfs ]; then
	$memfs "\$mnt" -f -s -o default_permissions & holes="--holes --ioctl"
else
	$passthrough "\$src" "\$mnt" -f -s -o default_permissions & holes=
fi
i=0; while [ \$i -lt 200 ] && ! grep -q " \$mnt " /proc/mounts; do sleep 0.05; i=\$((i+1)); done
grep -q " \$mnt " /proc/mounts || { echo "FAIL \$1 did not mount"; exit 1; }
$files_bin "\$mnt/files" | grep -v '^ok '
$big_bin "\$mnt/big" \$holes | grep -v '^ok '
(cd / && $busybox sh $files_sh "\$mnt/s" >\$out-on-fuse 2>&1; echo "exit \$?" >>\$out-on-fuse)
(cd / && $busybox sh $files_sh "\$plain" >\$out-plain 2>&1; echo "exit \$?" >>\$out-plain)
sed -i "s|\$mnt/s|SCRATCH|g" \$out-on-fuse
sed -i "s|\$plain|SCRATCH|g" \$out-plain
if diff \$out-plain \$out-on-fuse >\$out-diff; then
	echo "files.sh same"
else
	echo "files.sh differs:"; cat \$out-diff
fi
umount "\$mnt"; echo "umount \$?"
wait; echo "server exit \$?"
ROUND

fail=0
for server in memfs passthrough; do
	if [[ $where == sandbox ]]; then
		timeout 300 "$ks" run --platform kvm --cwd / "$busybox" sh "$t/round.sh" $server \
			/tmp/m /tmp/src /tmp/plain >"$t/got" 2>&1 </dev/null
	else
		mkdir -p "$t/m"
		timeout 300 "$busybox" sh "$t/round.sh" $server "$t/m" "$t/src" "$t/plain" \
			>"$t/got" 2>&1 </dev/null
		rm -rf "$t/src" "$t/plain"
	fi
	echo "exit $?" >>"$t/got"
	if grep -q '^files ok$' "$t/got" && grep -q '^fuse-big ok$' "$t/got" &&
		grep -q '^files.sh same$' "$t/got" && grep -q '^umount 0$' "$t/got" &&
		grep -q '^server exit 0$' "$t/got" && grep -q '^exit 0$' "$t/got"; then
		echo "ok $server ($where): files guest, 1 GiB sparse file, 10,000 names, applet script"
		grep '^sparse checksum' "$t/got"
	else
		echo "FAIL $server ($where):"
		cat "$t/got"
		fail=1
	fi
done
exit $fail
