/**
 * @file test_closure.c
 * closure.c: dynamic programs (sort), static programs (a hand-made ELF),
 * "#!" scripts (direct, via env, with an argument, with a name clash), clear
 * errors, determinism; and running resolved closures from a plain directory
 * to prove that the layout works.
 */
#include "core/closure.h"
#include "harness.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmpdir;

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0) {
		write_all(fd, text, strlen(text));
		fchmod(fd, mode);
		close(fd);
	}
}

/* A minimal static x86-64 ELF that exits with `code` (no libc, no loader). */
static void write_static_elf(const char *path, int code)
{
	unsigned char img[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 12];
	const unsigned char text[12] = {0xbf, (unsigned char)code,
	                                0,    0,
	                                0, /* mov edi, code */
	                                0xb8, 60,
	                                0,    0,
	                                0,           /* mov eax, 60 */
	                                0x0f, 0x05}; /* syscall */
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = 0x400000 + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr),
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = 1,
	};
	Elf64_Phdr ph = {
	    .p_type = PT_LOAD,
	    .p_flags = PF_R | PF_X,
	    .p_vaddr = 0x400000,
	    .p_paddr = 0x400000,
	    .p_filesz = sizeof img,
	    .p_memsz = sizeof img,
	    .p_align = 0x1000,
	};
	memcpy(img, &eh, sizeof eh);
	memcpy(img + sizeof eh, &ph, sizeof ph);
	memcpy(img + sizeof eh + sizeof ph, text, sizeof text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0) {
		write_all(fd, img, sizeof img);
		close(fd);
	}
}

static bool has_file(const struct closure *c, const char *path)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (!strcmp(c->files[i].path, path))
			return true;
	return false;
}

/* Every path is relative and acceptable in a thunk; every host path is real. */
static void check_paths(const struct closure *c)
{
	CHECK(c->exe && path_check_relative(c->exe, "exe") == 0);
	CHECK(has_file(c, c->exe));
	for (size_t i = 0; i < c->argv_prefix.n; i++)
		CHECK(c->argv_prefix.v[i][0] != '/');
	for (size_t i = 0; i < c->nfiles; i++) {
		struct stat st;
		CHECK(path_check_relative(c->files[i].path, "file") == 0);
		CHECK(!strncmp(c->files[i].path, ".gg-sys/", 8));
		CHECK(c->files[i].host_path[0] == '/');
		CHECK(lstat(c->files[i].host_path, &st) == 0 && S_ISREG(st.st_mode));
	}
}

/* Copies the closure into a fresh directory and runs prefix + args there. */
static char *run_closure(const struct closure *c, const char *dir_name, char *const *args,
                         int *status)
{
	char *dir = tmp_path(dir_name);
	mkdir_p(dir, 0755);
	for (size_t i = 0; i < c->nfiles; i++) {
		char *dst = xasprintf("%s/%s", dir, c->files[i].path);
		char *slash = strrchr(dst, '/');
		*slash = 0;
		mkdir_p(dst, 0755);
		*slash = '/';
		struct buf b = BUF_INIT;
		CHECK(read_file(c->files[i].host_path, &b, 64u << 20) == 0);
		int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && write_all(fd, b.data, b.len) == 0);
		if (fd >= 0) {
			fchmod(fd, c->files[i].exec ? 0555 : 0444);
			close(fd);
		}
		buf_free(&b);
		free(dst);
	}
	struct strvec argv = STRVEC_INIT;
	for (size_t i = 0; i < c->argv_prefix.n; i++)
		strvec_push(&argv, c->argv_prefix.v[i]);
	for (size_t i = 0; args && args[i]; i++)
		strvec_push(&argv, args[i]);
	char *out = xasprintf("%s.out", dir);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || chdir(dir) < 0)
			_exit(126);
		char *env[] = {NULL};
		execve(c->exe, argv.v, env);
		_exit(127);
	}
	*status = -1;
	waitpid(pid, status, 0);
	struct buf b = BUF_INIT;
	read_file(out, &b, 1 << 20);
	strvec_free(&argv);
	free(out);
	free(dir);
	return buf_steal(&b);
}

static void test_which(void)
{
	char *p = closure_which("sort", NULL);
	CHECK(p && p[0] == '/' && strstr(p, "/sort"));
	free(p);
	CHECK(closure_which("no-such-program-gg", NULL) == NULL);
	CHECK(closure_which("sort", "/nonexistent:/also-not") == NULL);
	p = closure_which("sort", "/nonexistent::/usr/bin");
	CHECK_STR(p, "/usr/bin/sort");
	free(p);
	p = closure_which("/usr/bin/sort", "/nonexistent");
	CHECK_STR(p, "/usr/bin/sort");
	free(p);
	char *f = tmp_path("plain.txt");
	write_text(f, "text\n", 0644);
	CHECK(closure_which(f, NULL) == NULL); /* not executable */
	free(f);
	CHECK(closure_which("/usr/bin", NULL) == NULL); /* a directory */
}

static void test_dynamic_sort(void)
{
	struct closure c;
	CHECK(closure_resolve("sort", "sort", NULL, &c) == 0);
	check_paths(&c);
	CHECK(has_file(&c, ".gg-sys/bin/sort"));
	CHECK(has_file(&c, ".gg-sys/lib/libc.so.6"));
	CHECK(c.exe && !strncmp(c.exe, ".gg-sys/lib/ld-", 15));
#ifdef __x86_64__
	CHECK_STR(c.exe, ".gg-sys/lib/ld-linux-x86-64.so.2");
#endif
	CHECK(c.argv_prefix.n == 6);
	if (c.argv_prefix.n == 6) {
		CHECK_STR(c.argv_prefix.v[0], c.exe);
		CHECK_STR(c.argv_prefix.v[1], "--library-path");
		CHECK_STR(c.argv_prefix.v[2], ".gg-sys/lib");
		CHECK_STR(c.argv_prefix.v[3], "--argv0");
		CHECK_STR(c.argv_prefix.v[4], "sort");
		CHECK_STR(c.argv_prefix.v[5], ".gg-sys/bin/sort");
	}
	/* no vDSO, no duplicate loader */
	size_t loaders = 0;
	for (size_t i = 0; i < c.nfiles; i++) {
		CHECK(!strstr(c.files[i].path, "vdso"));
		loaders += !strcmp(c.files[i].path, c.exe);
	}
	CHECK(loaders == 1);

	/* the same program twice: identical */
	struct closure d;
	CHECK(closure_resolve("/usr/bin/sort", "sort", "/nonexistent", &d) == 0);
	CHECK(c.nfiles == d.nfiles && c.argv_prefix.n == d.argv_prefix.n);
	for (size_t i = 0; i < c.nfiles && i < d.nfiles; i++) {
		CHECK_STR(c.files[i].path, d.files[i].path);
		CHECK_STR(c.files[i].host_path, d.files[i].host_path);
		CHECK(c.files[i].exec == d.files[i].exec);
	}
	for (size_t i = 0; i < c.argv_prefix.n && i < d.argv_prefix.n; i++)
		CHECK_STR(c.argv_prefix.v[i], d.argv_prefix.v[i]);
	CHECK_STR(c.exe, d.exe);
	closure_free(&d);

	/* it actually runs from a plain directory */
	char *in = tmp_path("sortrun");
	mkdir_p(in, 0755);
	free(in);
	in = tmp_path("sortrun/in.txt");
	write_text(in, "pear\napple\nfig\n", 0644);
	free(in);
	int st;
	char *out = run_closure(&c, "sortrun", (char *[]){"in.txt", NULL}, &st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_STR(out, "apple\nfig\npear\n");
	free(out);
	closure_free(&c);
}

static void test_static(void)
{
#ifdef __x86_64__
	char *p = tmp_path("exit7");
	write_static_elf(p, 7);
	struct closure c;
	CHECK(closure_resolve(p, NULL, NULL, &c) == 0);
	check_paths(&c);
	CHECK(c.nfiles == 1);
	CHECK_STR(c.exe, ".gg-sys/bin/exit7");
	CHECK(c.argv_prefix.n == 1 && !strcmp(c.argv_prefix.v[0], "exit7"));
	int st;
	char *out = run_closure(&c, "staticrun", NULL, &st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	free(out);
	closure_free(&c);
	free(p);
#endif
	/* a 32-bit ELF without PT_INTERP is treated as static */
	unsigned char img[sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr)];
	Elf32_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_EXEC,
	    .e_machine = EM_386,
	    .e_version = EV_CURRENT,
	    .e_phoff = sizeof(Elf32_Ehdr),
	    .e_ehsize = sizeof(Elf32_Ehdr),
	    .e_phentsize = sizeof(Elf32_Phdr),
	    .e_phnum = 1,
	};
	Elf32_Phdr ph = {.p_type = PT_LOAD, .p_filesz = sizeof img, .p_memsz = sizeof img};
	memcpy(img, &eh, sizeof eh);
	memcpy(img + sizeof eh, &ph, sizeof ph);
	char *p32 = tmp_path("prog32");
	int fd = open(p32, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	CHECK(fd >= 0 && write_all(fd, img, sizeof img) == 0);
	close(fd);
	struct closure c32;
	CHECK(closure_resolve(p32, "p", NULL, &c32) == 0);
	CHECK(c32.nfiles == 1);
	CHECK_STR(c32.exe, ".gg-sys/bin/prog32");
	closure_free(&c32);
	free(p32);
}

static void check_sh_prefix(const struct closure *c, const char *sh_bin, const char *arg,
                            const char *script)
{
	size_t n = 6 + (arg != NULL) + 1;
	CHECK(c->argv_prefix.n == n);
	if (c->argv_prefix.n != n)
		return;
	CHECK_STR(c->argv_prefix.v[0], c->exe);
	CHECK_STR(c->argv_prefix.v[4], "sh");
	CHECK_STR(c->argv_prefix.v[5], sh_bin);
	if (arg)
		CHECK_STR(c->argv_prefix.v[6], arg);
	CHECK_STR(c->argv_prefix.v[n - 1], script);
}

static void test_scripts(void)
{
	struct closure c;
	int st;
	char *out;

	char *p = tmp_path("hello.sh");
	write_text(p, "#!/bin/sh\necho \"hello $1 $0\"\n", 0755);
	CHECK(closure_resolve(p, "hello.sh", NULL, &c) == 0);
	check_paths(&c);
	CHECK(has_file(&c, ".gg-sys/bin/hello.sh"));
	CHECK(has_file(&c, ".gg-sys/bin/sh"));
	CHECK(has_file(&c, ".gg-sys/lib/libc.so.6"));
	check_sh_prefix(&c, ".gg-sys/bin/sh", NULL, ".gg-sys/bin/hello.sh");
	out = run_closure(&c, "shrun", (char *[]){"world", NULL}, &st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_STR(out, "hello world .gg-sys/bin/hello.sh\n");
	free(out);
	closure_free(&c);
	free(p);

	/* env, from the search path; surrounding blanks are ignored */
	p = tmp_path("envsh");
	write_text(p, "#!  /usr/bin/env sh  \necho via env\n", 0755);
	CHECK(closure_resolve(p, NULL, "/usr/bin", &c) == 0);
	check_paths(&c);
	check_sh_prefix(&c, ".gg-sys/bin/sh", NULL, ".gg-sys/bin/envsh");
	out = run_closure(&c, "envrun", NULL, &st);
	CHECK_STR(out, "via env\n");
	free(out);
	closure_free(&c);
	free(p);

	/* one interpreter argument, passed before the script */
	p = tmp_path("failing");
	write_text(p, "#!/bin/sh -e\nfalse\necho not reached\n", 0755);
	CHECK(closure_resolve(p, NULL, NULL, &c) == 0);
	check_sh_prefix(&c, ".gg-sys/bin/sh", "-e", ".gg-sys/bin/failing");
	out = run_closure(&c, "failrun", NULL, &st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CHECK_STR(out, "");
	free(out);
	closure_free(&c);
	free(p);

	/* a script called like its interpreter: both get distinct names */
	char *d = tmp_path("clash");
	mkdir_p(d, 0755);
	p = tmp_path("clash/sh");
	write_text(p, "#!/bin/sh\necho clash ok\n", 0755);
	CHECK(closure_resolve(p, NULL, NULL, &c) == 0);
	check_paths(&c);
	check_sh_prefix(&c, ".gg-sys/bin/sh-2", NULL, ".gg-sys/bin/sh");
	out = run_closure(&c, "clashrun", NULL, &st);
	CHECK_STR(out, "clash ok\n");
	free(out);
	closure_free(&c);
	free(p);
	free(d);
}

static void test_errors(void)
{
	struct closure c;
	CHECK_ERR(closure_resolve("no-such-program-gg", NULL, NULL, &c),
	          "no-such-program-gg: not found on PATH");
	CHECK(c.nfiles == 0 && c.exe == NULL);
	CHECK_ERR(closure_resolve("sort", NULL, "/nonexistent", &c), "sort: not found on PATH");
	char *f = tmp_path("plain.txt");
	char *want = xasprintf("%s: not an executable file", f);
	CHECK_ERR(closure_resolve(f, NULL, NULL, &c), want);
	free(want);
	free(f);
	CHECK_ERR(closure_resolve("/no/such/file", NULL, NULL, &c), "/no/such/file: No such file");

	char *p = tmp_path("garbage");
	write_text(p, "just some text\n", 0755);
	CHECK_ERR(closure_resolve(p, NULL, NULL, &c), "not an executable file");
	free(p);

	p = tmp_path("short-elf");
	write_text(p, "\177ELF\002\001\001", 0755);
	CHECK_ERR(closure_resolve(p, NULL, NULL, &c), "cannot read ELF header");
	free(p);

	p = tmp_path("env-opts");
	write_text(p, "#!/usr/bin/env -S sh -e\n", 0755);
	CHECK_ERR(closure_resolve(p, NULL, NULL, &c), "env options are not supported");
	free(p);

	p = tmp_path("bad-interp");
	write_text(p, "#!/nonexistent/interp\n", 0755);
	CHECK_ERR(closure_resolve(p, NULL, NULL, &c), "/nonexistent/interp");
	CHECK(strstr(gg_last_error(), "bad-interp") != NULL);
	free(p);

	p = tmp_path("loop");
	char *text = xasprintf("#!%s\n", p);
	write_text(p, text, 0755);
	CHECK_ERR(closure_resolve(p, NULL, NULL, &c), "too many levels");
	free(text);
	free(p);
	CHECK(c.nfiles == 0 && c.exe == NULL && c.argv_prefix.n == 0);
}

static void setup(void)
{
	char tmpl[] = "/tmp/gg-test-closure-XXXXXX";
	tmpdir = xstrdup(mkdtemp(tmpl));
}

static void teardown(void)
{
	remove_tree(tmpdir);
	free(tmpdir);
}

TEST_MAIN(setup, test_which, test_dynamic_sort, test_static, test_scripts, test_errors, teardown)
