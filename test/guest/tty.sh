#!/usr/bin/env bash
# The host terminal as the guest's stdio: run the guest on a pseudo-
# terminal of 33 rows and 77 columns and check what TCGETS, TCSETS and
# TIOCGWINSZ give it (busybox stty), natively and in the sandbox alike.
#   tty.sh KSENTRY BUSYBOX PLATFORM
set -u
ks=$1 busybox=$2 platform=$3
if [[ $platform == kvm && ( ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ) ]]; then
	echo "SKIP: needs KVM, and /dev/kvm is missing or not read-writable here"
	exit 77
fi
script='stty size; test -t 0 && echo tty0; test -t 1 && echo tty1; stty -echo; stty -a | grep -o -- "-echo " ; stty echo; stty -a | grep -o -- " echo "'
# A pty of that size around CMD; what it printed, and its exit status.
on_pty() {
	python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:  # the size is set before the program starts
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 77, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
print("exit", os.waitstatus_to_exitcode(st))
PY
}
want=$(on_pty "$busybox" sh -c "$script")
got=$(on_pty "$ks" run --platform "$platform" "$busybox" sh -c "$script")
echo "native:"; echo "$want"
echo "sandbox:"; echo "$got"
[[ $want == *"33 77"* && $want == *tty1* ]] || { echo "FAIL: the native run is not on the pty"; exit 1; }
[[ $got == "$want" ]] || { echo "FAIL: the sandbox differs"; exit 1; }
echo "ok tty"
