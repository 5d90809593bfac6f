/*
 * vmm/ptrace_stub_x86_64.S - the stub process of the ptrace platform.
 *
 * The fork child copies this code to PTRACE_STUB_ADDR and jumps to it with
 * %rdi pointing at a table of (start, length) pairs, ended by a zero
 * length.  The stub unmaps every range in the table, which leaves its
 * address space empty but for this page, stops itself with SIGSTOP for
 * the tracer, and from then on only ever executes the two instructions
 * at ptrace_stub_syscall: the tracer points %rip there to run a host
 * syscall in the stub (mmap, munmap of guest memory), and the int3 hands
 * control back.  Guest code never runs here; guest syscalls are caught by
 * PTRACE_SYSEMU before the host executes them.
 */
#include <asm/unistd.h>

	.section .rodata, "a"
	.balign 16
	.globl ptrace_stub_start, ptrace_stub_syscall, ptrace_stub_end
ptrace_stub_start:
	mov	%rdi, %rbx
1:	mov	8(%rbx), %rsi
	test	%rsi, %rsi
	jz	2f
	mov	(%rbx), %rdi
	mov	$__NR_munmap, %eax
	syscall
	add	$16, %rbx
	jmp	1b
2:	mov	$__NR_getpid, %eax
	syscall
	mov	%eax, %edi
	mov	$19, %esi		/* SIGSTOP */
	mov	$__NR_kill, %eax
	syscall
ptrace_stub_syscall:
	syscall
	int3
	jmp	ptrace_stub_syscall
ptrace_stub_end:

	.section .note.GNU-stack, "", @progbits
