# exec and redirections; runs in the directory given as $1.
mkdir -p "$1"
cd "$1" || exit 1
echo abc > f; cat < f
exec 3> g; echo three >&3; echo more >&3; exec 3>&-; cat g
exec 4< g; read line <&4; echo "read: $line"; exec 4<&-
echo err >&2 2>/dev/null; echo to-null > /dev/null
{ echo one; echo two; } > both; wc -l < both
cat <<HERE
here $((6 * 7))
HERE
echo appended >> f; cat f
printf '#!/bin/busybox sh\necho "script: $# args, first $1"\nexit 5\n' > s.sh; chmod +x s.sh
./s.sh one two; echo "script status $?"
printf '#!/nonexistent/interp\n' > bad.sh; chmod +x bad.sh; ./bad.sh 2>/dev/null; echo "bad interpreter $?"
