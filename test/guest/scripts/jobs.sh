# Background jobs, wait, xargs -P, many forks.
mkdir -p "$1" && cd "$1" || exit 1
for i in 1 2 3 4 5; do (echo job $i) & done > jobs.out; wait; sort jobs.out; rm jobs.out
sleep 0.1 & pid=$!; wait $pid; echo "waited $?"
(exit 3) & wait $!; echo "background status $?"
seq 1 16 | xargs -n 2 -P 4 echo | sort -n
i=0; while [ $i -lt 500 ]; do true & i=$((i+1)); done; wait; echo "forked 500"
i=0; while [ $i -lt 100 ]; do x=$(echo $i); i=$((i+1)); done; echo "substituted $x"
