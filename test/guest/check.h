/*
 * test/guest/check.h - the one assertion the guest test programs share.
 *
 * CHECK(name, condition, printf-args) prints "ok NAME", or "FAIL NAME:
 * detail (errno)" and counts the failure in `failures`, which each program
 * defines; the program prints its verdict line from that count.
 */
#ifndef KSENTRY_TEST_GUEST_CHECK_H
#define KSENTRY_TEST_GUEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(name, cond, ...)                                                                     \
	do {                                                                                       \
		if (cond) {                                                                        \
			printf("ok %s\n", name);                                                   \
		} else {                                                                           \
			printf("FAIL %s: ", name);                                                 \
			printf(__VA_ARGS__);                                                       \
			printf(" (errno %d %s)\n", errno, strerror(errno));                        \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* Programs that work in a scratch directory: its path (set by main),
 * and @rel under it; eight results in turn, so that the arguments of one
 * call may hold several. */
static const char *scratch_dir;

static inline char *scratch(const char *rel)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", scratch_dir, rel);
	return buf[i];
}

/* EXPECT(condition): a check named by where it stands, silent when it
 * holds; for programs with many small checks and one verdict line. */
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

#endif
