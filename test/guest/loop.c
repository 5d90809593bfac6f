/* loop N: make N getpid system calls, then exit.  For counting what the
 * sentry does per guest syscall. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
	return 0;
}
