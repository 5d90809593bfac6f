# Pipelines, subshells, command substitution, exit statuses.
seq 1 100000 | sort -r | head -5
seq 1 1000 | grep 7 | wc -l
(echo in a subshell; exit 4); echo "subshell status $?"
x=$(echo a b c | wc -w); echo "words $x"
y=$( (echo nested; echo two) | tail -1 ); echo "nested $y"
false; echo "false $?"; true; echo "true $?"
sh -c 'exit 7'; echo "sh exit $?"
! true; echo "negated $?"
echo "pipe status $(false | true; echo $?)"
