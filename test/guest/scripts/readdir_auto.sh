# READDIRPLUS_AUTO, run in the sandbox by meson's fuse-readdir-auto tests:
# memfs (libfuse, which takes READDIRPLUS_AUTO) with the options given,
# 3,000 names, one `ls`.  As Linux's FUSE, a listing asks READDIRPLUS
# for its first request only, and again only after a reader used a name
# a READDIRPLUS brought (with timeouts 0 no name stays cached to use).
#   readdir_auto.sh MEMFS [MEMFS OPTIONS]
memfs=$1
shift
mkdir -p /tmp/m
"$memfs" "$@" -f -s /tmp/m &
i=0
while ! grep -q ' /tmp/m ' /proc/mounts; do
	i=$((i + 1)); [ $i -lt 500 ] || exit 99; sleep 0.01
done
(cd /tmp/m && seq 3000 | xargs touch) || exit 1
echo "listed $(ls /tmp/m | wc -l)"
umount /tmp/m
wait
