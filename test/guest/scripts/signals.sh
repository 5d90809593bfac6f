# Traps, kill, timeout.
trap 'echo trapped INT' INT
kill -INT $$
echo after INT
trap 'echo trapped TERM' TERM
kill -TERM $$
echo after TERM
trap - INT TERM
timeout 1 sleep 5; echo "timeout status $?"
sh -c 'kill -9 $$'; echo "killed status $?"
sh -c 'trap "echo child trap; exit 9" USR1; kill -USR1 $$; sleep 1'; echo "usr1 status $?"
trap 'echo bye from EXIT' EXIT
echo last line
