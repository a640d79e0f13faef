/**
 * @file closure.h
 * What a host program needs to run anywhere: the program itself, its ELF
 * interpreter (loader) and shared-library closure, and for a "#!" script its
 * interpreter (recursively). Used by `gg thunk` to add these as inputs, so a
 * thunk never depends on the host's /usr.
 *
 * Layout inside a thunk (all under the reserved directory ".gg-sys/"):
 *   .gg-sys/bin/NAME        the program (or script), NAME = its basename
 *   .gg-sys/lib/SONAME      each shared library, flattened by soname
 *   .gg-sys/lib/LOADER      the ELF interpreter, e.g. ld-linux-x86-64.so.2
 * A dynamically linked program is executed through its loader explicitly:
 *   exe  = .gg-sys/lib/ld-linux-x86-64.so.2
 *   argv = [loader, "--library-path", ".gg-sys/lib", "--argv0", ARGV0, ".gg-sys/bin/NAME", ARGS...]
 * which works both with the sandbox directory as root and as a plain cwd.
 * A static program is executed directly (exe = .gg-sys/bin/NAME).
 * A script "#!/path/interp [arg]" becomes its interpreter's invocation with
 * the script as an argument.
 */
#ifndef GG_CLOSURE_H
#define GG_CLOSURE_H

#include "core/util.h"

struct closure_file {
	char *host_path; /* absolute path on this host */
	char *path;      /* relative path inside the thunk */
	bool exec;
};

struct closure {
	struct closure_file *files;
	size_t nfiles, files_cap;
	char *exe;                 /* relative path to execute */
	struct strvec argv_prefix; /* argv up to (not including) the user's ARGS */
	/* The ELF interpreters as the programs name them (absolute paths, each
	 * once): where the kernel looks for them when the program is executed
	 * by name, as a shell script does (see tbuild_add_tool). */
	struct strvec interps;
};

/*
 * program: a name looked up on search_path (colon-separated; NULL = $PATH),
 * or a path containing '/'. argv0 is what the program should see as argv[0].
 * Returns 0 or -1 with an error naming the program and the cause.
 */
int closure_resolve(const char *program, const char *argv0, const char *search_path,
                    struct closure *out);
void closure_free(struct closure *c);

/* Finds an executable on a colon-separated path; malloc'd absolute path or NULL. */
char *closure_which(const char *program, const char *search_path);

#endif
