/**
 * @file closure.c
 * Finds what a host program needs to run inside a thunk (see closure.h): the
 * program, its ELF interpreter and shared libraries (as listed by running the
 * interpreter in list mode, i.e. what ldd does), and for "#!" scripts the
 * interpreter's closure, recursively. Results depend only on the host files,
 * never on the order of calls, and contain no host paths except host_path.
 *
 * It does not see libraries loaded with dlopen() (NSS, gconv, plugins) nor
 * data files a program reads; those must be declared by the user.
 */
#include "core/closure.h"
#include "core/process.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYS_DIR      ".gg-sys"
#define BIN_DIR      SYS_DIR "/bin"
#define LIB_DIR      SYS_DIR "/lib"
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define HEAD_SIZE    256 /* what the kernel reads to recognise a binary */
#define MAX_NESTING  4   /* interpreters of interpreters, as Linux allows */
#define MAX_LIST     (1u << 20)

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* dir/name made absolute against the cwd when dir is relative. */
static char *join_abs(const char *dir, const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (dir[0] == '/')
		return xasprintf("%s/%s", dir, name);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return xasprintf("%s/%s", dir, name);
	if (!*dir || !strcmp(dir, "."))
		return xasprintf("%s/%s", cwd, name);
	return xasprintf("%s/%s/%s", cwd, dir, name);
}

char *closure_which(const char *program, const char *search_path)
{
	if (!program || !*program)
		return NULL;
	if (strchr(program, '/')) {
		if (!is_exec_file(program))
			return NULL;
		return program[0] == '/' ? xstrdup(program) : join_abs(".", program);
	}
	if (!search_path)
		search_path = getenv("PATH");
	if (!search_path)
		search_path = DEFAULT_PATH;
	for (const char *s = search_path;;) {
		const char *e = strchr(s, ':');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char *dir = xstrndup(s, n); /* empty = current directory (POSIX) */
		char *cand = join_abs(dir, program);
		free(dir);
		if (is_exec_file(cand))
			return cand;
		free(cand);
		if (!e)
			return NULL;
		s = e + 1;
	}
}

/* ---- building the file list ---- */

/*
 * Adds host file `host` (a real path) as `path`. The same file under the
 * same name is kept once. A different file wanting a taken name is an error
 * for libraries; for programs (rename) it gets "NAME-2", "NAME-3", ... —
 * deterministic because the resolution order is. *final gets the name used.
 */
static int add_file(struct closure *c, const char *host, const char *path, bool exec, bool rename,
                    const char **final)
{
	char *name = xstrdup(path);
	for (unsigned k = 2;; k++) {
		size_t i;
		for (i = 0; i < c->nfiles; i++)
			if (!strcmp(c->files[i].path, name))
				break;
		if (i < c->nfiles && !strcmp(c->files[i].host_path, host)) {
			c->files[i].exec |= exec;
			free(name);
			*final = c->files[i].path;
			return 0;
		}
		if (i == c->nfiles)
			break;
		if (!rename) {
			int r = gg_error("%s: both %s and %s want this name", path,
			                 c->files[i].host_path, host);
			free(name);
			return r;
		}
		free(name);
		name = xasprintf("%s-%u", path, k);
	}
	if (path_check_relative(name, "closure file") < 0) {
		free(name);
		return -1;
	}
	ALLOC_GROW(c->files, c->nfiles + 1, c->files_cap);
	c->files[c->nfiles] = (struct closure_file){xstrdup(host), name, exec};
	*final = c->files[c->nfiles++].path;
	return 0;
}

static int add_real(struct closure *c, const char *program, const char *host, const char *path,
                    bool exec, bool rename, const char **final)
{
	char *real = realpath(host, NULL);
	if (!real)
		return gg_error_errno("%s: cannot resolve %s", program, host);
	int r = add_file(c, real, path, exec, rename, final);
	free(real);
	return r;
}

/* ---- ELF ---- */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ELFDATA ELFDATA2LSB
#else
#define HOST_ELFDATA ELFDATA2MSB
#endif

/* Reads PT_INTERP into *interp (NULL for a static program). */
static int elf_interp(const char *program, int fd, const unsigned char *head, size_t len,
                      char **interp)
{
	*interp = NULL;
	uint64_t phoff;
	size_t phnum, phentsize, want;
	bool is64 = head[EI_CLASS] == ELFCLASS64;
	if (head[EI_CLASS] != ELFCLASS32 && !is64)
		return gg_error("%s: cannot read ELF header: unknown ELF class %d", program,
		                head[EI_CLASS]);
	if (head[EI_DATA] != HOST_ELFDATA)
		return gg_error("%s: cannot read ELF header: byte order differs from this host",
		                program);
	if (len < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return gg_error("%s: cannot read ELF header: file too short", program);
	if (is64) {
		Elf64_Ehdr eh;
		memcpy(&eh, head, sizeof eh);
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		want = sizeof(Elf64_Phdr);
	} else {
		Elf32_Ehdr eh;
		memcpy(&eh, head, sizeof eh);
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		want = sizeof(Elf32_Phdr);
	}
	if (phnum == 0)
		return gg_error("%s: not an executable file (ELF without program headers)",
		                program);
	if (phentsize != want || phnum > 4096)
		return gg_error("%s: cannot read ELF header: bad program header table", program);
	size_t size = phnum * phentsize;
	unsigned char *ph = xmalloc(size);
	int r = 0;
	if (pread(fd, ph, size, (off_t)phoff) != (ssize_t)size) {
		r = gg_error("%s: cannot read ELF header: truncated program headers", program);
		goto out;
	}
	for (size_t i = 0; i < phnum; i++) {
		uint64_t type, off, filesz;
		if (is64) {
			Elf64_Phdr p;
			memcpy(&p, ph + i * want, sizeof p);
			type = p.p_type, off = p.p_offset, filesz = p.p_filesz;
		} else {
			Elf32_Phdr p;
			memcpy(&p, ph + i * want, sizeof p);
			type = p.p_type, off = p.p_offset, filesz = p.p_filesz;
		}
		if (type != PT_INTERP)
			continue;
		if (filesz < 2 || filesz > PATH_MAX) {
			r = gg_error("%s: cannot read ELF header: bad PT_INTERP", program);
			goto out;
		}
		char *s = xmalloc(filesz + 1);
		if (pread(fd, s, filesz, (off_t)off) != (ssize_t)filesz) {
			free(s);
			r = gg_error("%s: cannot read ELF header: truncated PT_INTERP", program);
			goto out;
		}
		s[filesz] = 0;
		if (strlen(s) != filesz - 1 || s[0] != '/') {
			free(s);
			r = gg_error("%s: cannot read ELF header: bad PT_INTERP", program);
			goto out;
		}
		*interp = s;
		break;
	}
out:
	free(ph);
	return r;
}

/* Runs argv (no shell, empty environment) and captures stdout+stderr. */
static int run_capture(const char *program, char *const argv[], struct buf *out, int *status)
{
	char *const env[] = {NULL};
	struct spawn_opts so = {.env = env};
	if (spawn_capture(argv, &so, out, MAX_LIST, status) < 0)
		return gg_error("%s: %s", program, gg_last_error());
	return 0;
}

static void trim(char **s, char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

/* Adds the libraries `interp --list host` prints. */
static int add_libraries(struct closure *c, const char *program, const char *interp,
                         const char *host)
{
	char *argv[] = {(char *)interp, "--list", (char *)host, NULL};
	struct buf out = BUF_INIT;
	int status, r = run_capture(program, argv, &out, &status);
	if (r < 0)
		goto done;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *nl = strchr(out.data, '\n');
		if (nl)
			*nl = 0;
		r = gg_error("%s: %s --list failed (wait status %d): %s", program, interp, status,
		             out.data);
		goto done;
	}
	for (char *line = out.data; r == 0 && line && *line;) {
		char *nl = strchr(line, '\n');
		char *s = line, *e = nl ? nl : line + strlen(line);
		line = nl ? nl + 1 : NULL;
		trim(&s, &e);
		*e = 0;
		/* strip the load address " (0x...)" */
		char *addr = strstr(s, " (0x");
		if (addr)
			*addr = 0, e = addr;
		trim(&s, &e);
		*e = 0;
		char *arrow = strstr(s, " => "), *name, *path;
		if (arrow) {
			*arrow = 0;
			name = s;
			path = arrow + 4;
			while (*path == ' ')
				path++;
			if (!strncmp(path, "not found", 9)) {
				r = gg_error("%s: needs library %s, which was not found", program,
				             name);
				break;
			}
		} else {
			name = path = s;
		}
		if (path[0] != '/')
			continue; /* the vDSO, "statically linked", ... */
		char *dest = xasprintf(LIB_DIR "/%s", base_name(name));
		const char *final;
		r = add_real(c, program, path, dest, false, false, &final);
		free(dest);
	}
done:
	buf_free(&out);
	return r;
}

/* ---- scripts ---- */

/* Splits "#!interp [arg]" as Linux does: one optional argument, the rest of the line. */
static int parse_shebang(const char *program, const unsigned char *head, size_t len, char **interp,
                         char **arg)
{
	const char *s = (const char *)head + 2, *end = (const char *)head + len;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl && len == HEAD_SIZE)
		return gg_error("%s: the #! line is longer than %d bytes", program, HEAD_SIZE);
	if (nl)
		end = nl;
	char *a = (char *)s, *b = (char *)end;
	char *line = xstrndup(a, (size_t)(b - a));
	a = line, b = line + strlen(line);
	trim(&a, &b);
	*b = 0;
	char *sp = a;
	while (*sp && *sp != ' ' && *sp != '\t')
		sp++;
	char *rest = sp;
	if (*sp)
		*rest++ = 0;
	char *re = rest + strlen(rest);
	trim(&rest, &re);
	*re = 0;
	if (!*a) {
		free(line);
		return gg_error("%s: empty #! line", program);
	}
	*interp = xstrdup(a);
	*arg = *rest ? xstrdup(rest) : NULL;
	free(line);
	return 0;
}

static int resolve(struct closure *c, const char *program, const char *argv0,
                   const char *search_path, int depth, struct strvec *prefix, char **exe);

static int resolve_script(struct closure *c, const char *program, const char *host,
                          const char *search_path, int depth, const unsigned char *head, size_t len,
                          struct strvec *prefix, char **exe)
{
	char *interp = NULL, *arg = NULL;
	if (parse_shebang(program, head, len, &interp, &arg) < 0)
		return -1;
	const char *script_path;
	char *dest = xasprintf(BIN_DIR "/%s", base_name(host));
	int r = add_real(c, program, host, dest, false, true, &script_path);
	free(dest);
	if (r < 0)
		goto out;
	char *script_copy = xstrdup(script_path); /* c->files may move */
	const char *name = interp, *name_argv0 = base_name(interp);
	if (!strcmp(base_name(interp), "env") && arg) {
		/* #!/usr/bin/env NAME: NAME from the search path */
		if (arg[0] == '-' || strpbrk(arg, " \t")) {
			r = gg_error("%s: '#!%s %s': env options are not supported", program,
			             interp, arg);
			goto done;
		}
		name = name_argv0 = arg;
	}
	r = resolve(c, name, name_argv0, search_path, depth + 1, prefix, exe);
	if (r < 0) {
		/* name the script too, once (nested scripts already did) */
		size_t n = strlen(program);
		const char *why = gg_last_error();
		if (strncmp(why, program, n) || strncmp(why + n, ": ", 2)) {
			char *copy = xstrdup(why);
			gg_error("%s: interpreter %s", program, copy);
			free(copy);
		}
		goto done;
	}
	if (name != arg && arg)
		strvec_push(prefix, arg);
	strvec_push(prefix, script_copy);
done:
	free(script_copy);
out:
	free(interp);
	free(arg);
	return r;
}

/* ---- resolution ---- */

static int resolve(struct closure *c, const char *program, const char *argv0,
                   const char *search_path, int depth, struct strvec *prefix, char **exe)
{
	if (depth > MAX_NESTING)
		return gg_error("%s: too many levels of #! interpreters", program);
	char *host = closure_which(program, search_path);
	if (!host) {
		if (!strchr(program, '/'))
			return gg_error("%s: not found on PATH", program);
		struct stat st;
		if (stat(program, &st) < 0)
			return gg_error_errno("%s", program);
		return gg_error("%s: not an executable file", program);
	}
	int r = -1;
	int fd = open(host, O_RDONLY | O_CLOEXEC);
	unsigned char head[HEAD_SIZE];
	ssize_t len = fd < 0 ? -1 : pread(fd, head, sizeof head, 0);
	char *interp = NULL;
	if (len < 0) {
		gg_error_errno("%s: cannot read %s", program, host);
		goto out;
	}
	if (len >= 4 && !memcmp(head, ELFMAG, SELFMAG)) {
		if (elf_interp(program, fd, head, (size_t)len, &interp) < 0)
			goto out;
		const char *bin, *loader = NULL;
		char *dest = xasprintf(BIN_DIR "/%s", base_name(host));
		r = add_real(c, program, host, dest, true, true, &bin);
		free(dest);
		if (r < 0)
			goto out;
		char *bin_copy = xstrdup(bin);
		if (interp) {
			bool known = false;
			for (size_t i = 0; i < c->interps.n; i++)
				known |= !strcmp(c->interps.v[i], interp);
			if (!known)
				strvec_push(&c->interps, interp);
			dest = xasprintf(LIB_DIR "/%s", base_name(interp));
			r = add_real(c, program, interp, dest, true, false, &loader);
			free(dest);
			char *loader_copy = r == 0 ? xstrdup(loader) : NULL;
			if (r == 0)
				r = add_libraries(c, program, interp, host);
			if (r == 0) {
				strvec_push(prefix, loader_copy);
				strvec_push(prefix, "--library-path");
				strvec_push(prefix, LIB_DIR);
				strvec_push(prefix, "--argv0");
				strvec_push(prefix, argv0);
				strvec_push(prefix, bin_copy);
				*exe = xstrdup(loader_copy);
			}
			free(loader_copy);
		} else {
			strvec_push(prefix, argv0);
			*exe = xstrdup(bin_copy);
		}
		free(bin_copy);
	} else if (len >= 2 && head[0] == '#' && head[1] == '!') {
		r = resolve_script(c, program, host, search_path, depth, head, (size_t)len, prefix,
		                   exe);
	} else {
		gg_error("%s: not an executable file (neither ELF nor a #! script)", program);
	}
out:
	if (fd >= 0)
		close(fd);
	free(interp);
	free(host);
	return r;
}

int closure_resolve(const char *program, const char *argv0, const char *search_path,
                    struct closure *out)
{
	memset(out, 0, sizeof *out);
	if (!program || !*program)
		return gg_error("closure: empty program name");
	int r = resolve(out, program, argv0 ? argv0 : base_name(program), search_path, 0,
	                &out->argv_prefix, &out->exe);
	if (r < 0)
		closure_free(out);
	return r;
}

void closure_free(struct closure *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].host_path);
		free(c->files[i].path);
	}
	free(c->files);
	free(c->exe);
	strvec_free(&c->argv_prefix);
	strvec_free(&c->interps);
	memset(c, 0, sizeof *c);
}
