/*
 * kernel/exec.c - execve for static and static-PIE ELF programs.
 *
 * The file is resolved in the task's namespace, read whole through the
 * VFS, and parsed by kernel/elf.c, which trusts nothing in it.  Each
 * PT_LOAD segment becomes private anonymous memory that is populated and
 * filled at once: mapping eagerly costs far less than faulting page by
 * page (DESIGN.md section 2), and a private copy is what a guest would
 * see of a private file mapping anyway.  Pages shared by two segments get
 * both segments' rights, as they would under Linux's file mappings.
 */
#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/auxv.h"
#include "abi/mman.h"
#include "kernel/elf.h"
#include "kernel/exec.h"
#include "kernel/exec_stack.h"
#include "kernel/vdso.h"

#define MAX_PROGRAM_SIZE (UINT64_C(1) << 30)

/*
 * Read all of the program at @path, resolved in @t's namespace from its
 * cwd, into a fresh buffer; its sandbox path goes to t->exe.  -EACCES for
 * something that is not an executable regular file.
 */
static int read_program(struct task *t, const char *path, unsigned char **out, size_t *len,
			bool is_exe)
{
	struct vfs_file *f;
	unsigned char *buf;
	struct stat st;
	size_t start;
	ssize_t n;
	int err;

	err = vfs_openat(&t->fs, t->cwd, path, O_RDONLY, 0, &f);
	if (err)
		return err;
	err = vfs_getattr(f->inode, &st);
	if (!err && (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)))
		err = -EACCES;
	if (!err && (uint64_t)st.st_size > MAX_PROGRAM_SIZE)
		err = -EFBIG;
	if (err)
		goto out_put;
	err = -ENOMEM;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out_put;
	{
		struct vfs_mem_io m;

		vfs_mem_io_init(&m, buf, (size_t)st.st_size);
		n = vfs_read(f, &m.io, 0);
	}
	if (n < 0) {
		free(buf);
		err = (int)n;
		goto out_put;
	}
	if (is_exe && vfs_path_name(t->fs.root, f->path, t->exe, sizeof(t->exe), &start) == 0)
		memmove(t->exe, t->exe + start, strlen(t->exe + start) + 1);
	*out = buf;
	*len = (size_t)n;
	err = 0;
out_put:
	vfs_file_put(f);
	return err;
}

static int map_segment(struct task *t, const unsigned char *file, const struct elf_load_segment *s,
		       uint64_t bias, uint64_t *mapped_end)
{
	uint64_t start = abi_page_round_down(s->vaddr + bias), end;
	int64_t r;
	int err;

	if (!abi_page_round_up(s->vaddr + bias + s->memsz, &end))
		return -ENOEXEC;
	/* A page the previous segment already mapped keeps its contents. */
	if (start < *mapped_end)
		start = *mapped_end;
	if (start < end) {
		r = mm_mmap(t->mm, start, end - start, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE);
		if (r < 0)
			return r == -EEXIST ? -ENOEXEC : (int)r;
		*mapped_end = end;
	}
	if (s->filesz == 0)
		return 0;
	err = mm_copy_out(t->mm, s->vaddr + bias, file + s->offset, (size_t)s->filesz);
	return err == -EFAULT ? -ENOEXEC : err;
}

/* Give every segment its rights; a page two segments share gets both. */
static int protect_segments(struct task *t, const struct elf_image *img, uint64_t bias)
{
	uint64_t prev_end = 0;
	unsigned prev_prot = 0;

	for (size_t i = 0; i < img->nsegs; i++) {
		const struct elf_load_segment *s = &img->segs[i];
		uint64_t start = abi_page_round_down(s->vaddr + bias), end;
		int err;

		if (!abi_page_round_up(s->vaddr + bias + s->memsz, &end))
			return -ENOEXEC;
		if (start < prev_end) {
			err = mm_mprotect(t->mm, start, ABI_PAGE_SIZE, s->prot | prev_prot);
			if (err)
				return err;
			start += ABI_PAGE_SIZE;
		}
		if (start < end) {
			err = mm_mprotect(t->mm, start, end - start, s->prot);
			if (err)
				return err;
		}
		prev_end = end;
		prev_prot = s->prot;
	}
	return 0;
}

static int load_segments(struct task *t, const unsigned char *file, const struct elf_image *img,
			 uint64_t bias, uint64_t *brk_start)
{
	uint64_t mapped_end = 0;
	int err;

	for (size_t i = 0; i < img->nsegs; i++) {
		err = map_segment(t, file, &img->segs[i], bias, &mapped_end);
		if (err)
			return err;
	}
	*brk_start = mapped_end;
	return protect_segments(t, img, bias);
}

/* What Linux gives x86 programs as AT_HWCAP: cpuid leaf 1's edx.  Not
 * getauxval(AT_HWCAP), which glibc answers from its own CPU probe. */
static uint64_t hwcap(void)
{
	unsigned int a, b, c, d;

	__cpuid(1, a, b, c, d);
	return d;
}

/* Map the stack and write argv, envp and auxv into it. */
static int setup_stack(struct task *t, const struct elf_image *img, uint64_t bias,
		       uint64_t interp_base, uint64_t vdso_base, const char *path,
		       char *const argv[], char *const envp[], uint64_t *sp)
{
	uint64_t size = t->rlimits[RLIMIT_STACK].rlim_cur, image_size;
	const uint64_t auxv[][2] = {
		{AT_PHDR, img->phdr_vaddr + bias},
		{AT_PHENT, img->phent},
		{AT_PHNUM, img->phnum},
		{AT_PAGESZ, ABI_PAGE_SIZE},
		{AT_BASE, interp_base},
		{AT_FLAGS, 0},
		{AT_ENTRY, img->entry + bias},
		{AT_UID, 0},
		{AT_EUID, 0},
		{AT_GID, 0},
		{AT_EGID, 0},
		{AT_SECURE, 0},
		{AT_HWCAP, hwcap()},
		{AT_HWCAP2, 0},
		{AT_CLKTCK, 100},
		{AT_SYSINFO_EHDR, vdso_base}, /* last: left out when there is none */
	};
	struct exec_stack_args args = {
		.argv = (const char *const *)argv,
		.envp = (const char *const *)envp,
		.execfn = path,
		.auxv = auxv,
		.nauxv = sizeof(auxv) / sizeof(auxv[0]) - (vdso_base ? 0 : 1),
	};
	unsigned char *image;
	int64_t r;
	int err;

	if (size == RLIM_INFINITY || size > (UINT64_C(1) << 30))
		size = UINT64_C(1) << 30;
	size = abi_page_round_down(size);
	if (size < (UINT64_C(1) << 20))
		size = UINT64_C(1) << 20;
	/* MAP_NORESERVE: Linux charges a stack to the commit as it grows,
	 * not its whole rlimit up front; this one is never charged. */
	r = mm_mmap(t->mm, EXEC_STACK_TOP - size, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN |
			    MAP_NORESERVE);
	if (r < 0)
		return (int)r;
	err = mm_populate(t->mm, EXEC_STACK_TOP - EXEC_STACK_POPULATE, EXEC_STACK_POPULATE);
	if (err)
		return err;

	if (getrandom(args.random, sizeof(args.random), 0) != sizeof(args.random))
		return -EIO;
	/* Linux lets argv and envp take a quarter of the stack. */
	image_size = size / 4;
	image = malloc(image_size);
	if (!image)
		return -ENOMEM;
	err = exec_stack_build(image, image_size, EXEC_STACK_TOP, &args, sp);
	if (!err)
		err = mm_copy_out(t->mm, *sp, image + image_size - (EXEC_STACK_TOP - *sp),
				  EXEC_STACK_TOP - *sp);
	free(image);
	return err;
}

/* @v as one NUL-separated block, as /proc/PID/cmdline shows it. */
static char *join(char *const v[], size_t *len)
{
	size_t n = 0;
	char *buf, *at;

	for (size_t i = 0; v && v[i]; i++)
		n += strlen(v[i]) + 1;
	buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	at = buf;
	for (size_t i = 0; v && v[i]; i++)
		at = stpcpy(at, v[i]) + 1;
	*len = n;
	return buf;
}

#define SHEBANG_MAX  256 /* Linux's BINPRM_BUF_SIZE */
#define SHEBANG_DEPTH 4   /* interpreters of interpreters, as Linux */

/*
 * A "#!" script: split its first line into the interpreter and at most
 * one argument (the rest of the line, as Linux does), and make the argv
 * the interpreter gets: interp [arg] path argv[1..].  0, -ENOEXEC (no
 * interpreter named, or the line does not end within SHEBANG_MAX), or
 * -ENOMEM.
 */
static int shebang_argv(const unsigned char *file, size_t len, const char *path,
			char *const argv[], char line[SHEBANG_MAX], char ***out)
{
	size_t n = 0, argc = 0;
	char *interp, *arg = NULL, *end, **v;

	while (n + 2 < len && n < SHEBANG_MAX - 1 && file[n + 2] != '\n')
		n++;
	if (n + 2 >= len && n + 2 != len)
		return -ENOEXEC;
	if (n == SHEBANG_MAX - 1)
		return -ENOEXEC;
	memcpy(line, file + 2, n);
	line[n] = '\0';
	for (interp = line; *interp == ' ' || *interp == '\t'; interp++)
		;
	if (!*interp)
		return -ENOEXEC;
	for (end = interp; *end && *end != ' ' && *end != '\t'; end++)
		;
	if (*end) {
		*end++ = '\0';
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end) {
			char *tail = end + strlen(end);

			while (tail > end && (tail[-1] == ' ' || tail[-1] == '\t'))
				*--tail = '\0';
			arg = end;
		}
	}
	while (argv && argv[argc])
		argc++;
	v = calloc(argc + 3, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	v[n++] = interp;
	if (arg)
		v[n++] = arg;
	v[n++] = (char *)path;
	for (size_t i = 1; i < argc; i++)
		v[n++] = argv[i];
	*out = v;
	return 0;
}

static int load_program(struct task *t, const char *path, char *const argv[], char *const envp[],
			char *msg, size_t msglen, int depth);

/*
 * A dynamically linked program's interpreter (ld.so): read it through the
 * VFS like the program, check it is a position-independent ELF that needs
 * no interpreter of its own, and map it where the mm finds room (top
 * down, as Linux's mmap base).  *@base is its load bias (AT_BASE),
 * *@entry where the task starts.
 */
static int load_interp(struct task *t, const char *path, uint64_t *base, uint64_t *entry,
		       char *msg, size_t msglen)
{
	struct elf_image *img = malloc(sizeof(*img));
	unsigned char *file = NULL;
	uint64_t span, brk_unused;
	size_t len;
	int64_t at;
	int err;

	if (!img)
		return -ENOMEM;
	err = read_program(t, path, &file, &len, false);
	if (err) {
		snprintf(msg, msglen, "interpreter %s: %s", path, strerror(-err));
		goto out_free;
	}
	err = elf_parse(file, len, img, msg, msglen);
	if (!err && (img->type != ET_DYN || img->has_interp)) {
		snprintf(msg, msglen, "interpreter %s: not a position-independent ELF", path);
		err = -ENOEXEC;
	}
	if (err)
		goto out_free;
	/* Find room: reserve the span, let it go, and load there. */
	span = img->max_vaddr - img->min_vaddr;
	at = mm_mmap(t->mm, 0, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (at < 0) {
		err = (int)at;
		goto out_free;
	}
	(void)mm_munmap(t->mm, (uint64_t)at, span);
	*base = (uint64_t)at - img->min_vaddr;
	err = load_segments(t, file, img, *base, &brk_unused);
	*entry = img->entry + *base;
	if (err)
		snprintf(msg, msglen, "interpreter %s: cannot load: %s", path, strerror(-err));
out_free:
	free(file);
	free(img);
	return err;
}

int exec_load(struct task *t, const char *path, char *const argv[], char *const envp[], char *msg,
	      size_t msglen)
{
	msg[0] = '\0';
	return load_program(t, path, argv, envp, msg, msglen, 0);
}

static int load_program(struct task *t, const char *path, char *const argv[], char *const envp[],
			char *msg, size_t msglen, int depth)
{
	struct elf_image *img;
	unsigned char *file = NULL;
	uint64_t bias = 0, brk_start, sp, interp_base = 0, entry = 0, vdso_base = 0;
	size_t len = 0;
	int err;

	err = read_program(t, path, &file, &len, true);
	if (err) {
		snprintf(msg, msglen, "%s: %s", path, strerror(-err));
		return err;
	}
	if (len >= 2 && file[0] == '#' && file[1] == '!') {
		char line[SHEBANG_MAX], **v = NULL;

		err = depth >= SHEBANG_DEPTH ? -ELOOP : shebang_argv(file, len, path, argv, line, &v);
		free(file);
		if (err) {
			snprintf(msg, msglen, "%s: bad #! line", path);
			return err;
		}
		err = load_program(t, v[0], v, envp, msg, msglen, depth + 1);
		free(v);
		return err;
	}
	err = -ENOMEM;
	img = malloc(sizeof(*img));
	if (!img)
		goto out_free_file;
	err = elf_parse(file, len, img, msg, msglen);
	if (err)
		goto out_free_img;
	err = -ENOEXEC;
	if (elf_image_load_bias(img, EXEC_PIE_BASE, &bias)) {
		snprintf(msg, msglen, "cannot place the position-independent image");
		goto out_free_img;
	}
	err = load_segments(t, file, img, bias, &brk_start);
	if (!err && img->has_interp)
		err = load_interp(t, img->interp, &interp_base, &entry, msg, msglen);
	if (!err)
		err = vdso_map(t, &vdso_base);
	if (!err)
		err = setup_stack(t, img, bias, interp_base, vdso_base, path, argv, envp, &sp);
	if (err) {
		if (!msg[0])
			snprintf(msg, msglen, "cannot load: %s", strerror(-err));
		goto out_free_img;
	}
	free(t->cmdline);
	free(t->environ);
	t->cmdline = join(argv, &t->cmdline_len);
	t->environ = join(envp, &t->environ_len);
	mm_set_brk_start(t->mm, brk_start);
	memset(&t->regs, 0, sizeof(t->regs));
	t->regs.rip = img->has_interp ? entry : img->entry + bias;
	t->regs.rsp = sp;
	t->regs.eflags = ABI_EFLAGS_IF;
	t->regs.cs = ABI_USER_CS;
	t->regs.ss = ABI_USER_SS;
out_free_img:
	free(img);
out_free_file:
	free(file);
	return err;
}
