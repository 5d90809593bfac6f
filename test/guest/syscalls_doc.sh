#!/usr/bin/env bash
# docs/syscalls.md lists every syscall the table implements, and no other:
# the (number, name) rows of `ksentry syscalls` and of the document's
# table must be the same set.  Status texts that differ are shown but do
# not fail the test (the document is regenerated from the table; see its
# head).   syscalls_doc.sh KSENTRY DOC
set -u
ks=$1 doc=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# "NR NAME" of each table row: | 0 | `read` | implemented |
rows() { sed -n 's/^| \([0-9][0-9]*\) | `\([a-z0-9_]*\)` | .*/\1 \2/p' "$1" | sort -n; }

"$ks" syscalls >"$t/table" || { echo "ksentry syscalls failed"; exit 1; }
[[ -r $doc ]] || { echo "no $doc"; exit 1; }
rows "$t/table" >"$t/table.names"
rows "$doc" >"$t/doc.names"
n=$(wc -l <"$t/table.names")
if [[ $n -lt 100 ]]; then
	echo "ksentry syscalls gave $n rows: is the format still | nr | \`name\` | status |?"
	exit 1
fi
if ! diff -u "$t/doc.names" "$t/table.names" >"$t/diff"; then
	echo "$doc is out of step with 'ksentry syscalls' (-: only in the document, +: only in the table):"
	grep '^[-+][0-9]' "$t/diff"
	echo "regenerate the table: $ks syscalls, from its '| nr' line on"
	exit 1
fi
# The statuses: a note only.
sed -n '/^| [0-9]/p' "$t/table" | sort >"$t/table.rows"
sed -n '/^| [0-9]/p' "$doc" | sort >"$t/doc.rows"
if ! cmp -s "$t/doc.rows" "$t/table.rows"; then
	echo "note: statuses differ (-: document, +: table):"
	diff "$t/doc.rows" "$t/table.rows" | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
fi
echo "syscalls doc ok: $n implemented syscalls listed"
