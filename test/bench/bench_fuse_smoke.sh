#!/usr/bin/env bash
# CI smoke test of `ksentry bench fuse`: one quick round of every workload
# (stat_cached included) with --json; the JSON must parse and hold every
# workload with sandbox figures above 0 (and native ones, if native ran).
# Figures are not judged: CI machines vary too much.
#   bench_fuse_smoke.sh KSENTRY
set -u
ks=$1
if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
if ! timeout 100 "$ks" bench fuse --quick --platform kvm --workload all,stat_cached \
	--json "$t/out.json" >"$t/out" 2>"$t/err" </dev/null; then
	echo "ksentry bench fuse failed"
	cat "$t/out" "$t/err"
	exit 1
fi
cat "$t/out"
python3 -m json.tool "$t/out.json" >/dev/null || { echo "--json output does not parse"; exit 1; }
python3 - "$t/out.json" <<'PY'
import json, sys

d = json.load(open(sys.argv[1]))
cfg = d["config"]
want = ["seq_1m", "seq_128k", "rewrite_1m", "randread_4k", "stat", "stat_cached", "create", "readdir",
        "unlink"]
bad = []
if cfg["workloads"] != want:
    bad.append("config.workloads is %s" % cfg["workloads"])
if cfg["server_mode"] not in ("single", "multi"):
    bad.append("config.server_mode is %r" % cfg["server_mode"])
if not cfg["native_ran"] and not cfg["native_why_not"]:
    bad.append("native did not run and the JSON does not say why")
for w in want:
    rows = [r for r in d["results"] if r["workload"] == w]
    if not rows:
        bad.append("no result for " + w)
    for r in rows:
        sides = ["sandbox"] + (["native"] if cfg["native_ran"] else [])
        for side in sides:
            s = r[side]
            if not s or not s["median"] > 0 or not all(v > 0 for v in s["samples"]):
                bad.append("%s: %s figures not all above 0: %s" % (r["name"], side, s))
            elif len(s["samples"]) != cfg["rounds"]:
                bad.append("%s: %d %s samples for %d rounds"
                           % (r["name"], len(s["samples"]), side, cfg["rounds"]))
for b in bad:
    print("bench-fuse-smoke:", b)
sys.exit(1 if bad else 0)
PY
