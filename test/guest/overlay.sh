#!/usr/bin/env bash
# Run the overlay guest against a scratch --root and check that nothing it
# did reached the host tree.   overlay.sh KSENTRY OVERLAY_GUEST
set -u
ks=$1 guest=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t"/{bin,tmp,dev,proc,data/dir}
cp "$guest" "$t/bin/overlay"
echo keep > "$t/data/keep"
echo edit > "$t/data/edit"
chmod 640 "$t/data/edit"
echo gone > "$t/data/gone"
echo a > "$t/data/dir/a"
echo b > "$t/data/dir/b"
ln -s keep "$t/data/link"
before=$(cd "$t" && find . -printf '%p %m %s\n' | sort; cat data/* data/dir/* 2>/dev/null)
"$ks" run --root "$t" --cwd / /bin/overlay
status=$?
after=$(cd "$t" && find . -printf '%p %m %s\n' | sort; cat data/* data/dir/* 2>/dev/null)
if [[ "$before" != "$after" ]]; then
	echo "FAIL the host tree changed"
	diff <(echo "$before") <(echo "$after")
	exit 1
fi
echo "ok host tree unchanged"
exit $status
