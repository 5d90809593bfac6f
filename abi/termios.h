/*
 * abi/termios.h - the kernel's struct termios, as TCGETS fills it.
 *
 * Not the C library's struct termios, which is larger (it adds speeds and
 * a longer c_cc); copying that to a guest would write past its buffer.
 */
#ifndef KSENTRY_ABI_TERMIOS_H
#define KSENTRY_ABI_TERMIOS_H

#include <stdint.h>

#define ABI_NCCS 19

struct abi_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[ABI_NCCS];
};

_Static_assert(sizeof(struct abi_termios) == 36, "kernel struct termios");

#endif
