/**
 * @file model_link.c
 * Builds a link thunk from a linker command line (what collect2 would hand
 * to ld, or a direct `ld` invocation), and the `ld` model itself.
 *
 * Everything ld would open becomes an input at its mapped path: objects and
 * archives (placeholders become dependencies), -lNAME resolved the way ld
 * searches (-L dirs in order, then ld's own SEARCH_DIRs; .so before .a per
 * dir unless static), files named by linker scripts such as libc.so, and the
 * DT_NEEDED closure of every shared library (ld checks those too). The thunk
 * runs ld with --sysroot=.gg-sys/root so absolute paths inside system linker
 * scripts and ld's default directories resolve to the mapped copies; runtime
 * paths (-dynamic-linker, -rpath, -soname) are left alone, so the program
 * runs on the host as the plain build's would.
 *
 * Link-time optimisation: when the link has -plugin and an input holds LTO
 * bytecode, the plugin runs lto-wrapper, which runs the driver, lto1 and as.
 * Those programs go in too, with the loader at its absolute path
 * (lib64/ld-linux-x86-64.so.2 inside the sandbox root) so their direct
 * exec()s work; such a thunk needs the isolated sandbox.
 */
#include "tools/infer/infer_model.h"

#include "core/closure.h"
#include "core/placeholder.h"
#include "core/thunk_build.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum ldk {
	LK_OUT,  /* the output */
	LK_OUTX, /* another file ld writes (map, depfile): not modelled */
	LK_DIR,  /* a search directory */
	LK_LIB,  /* -l */
	LK_FILE, /* a file ld reads */
	LK_R,    /* -R: a file to take symbols from, or a runtime path */
	LK_GEN,  /* a value that may hold an absolute path (plugin options) */
	LK_KEEP, /* a value that is not a file: unchanged */
	LK_FAIL, /* cannot be modelled */
};

static const struct {
	const char *name;
	enum ldk kind;
} ld_opts[] = {
    {"o", LK_OUT},
    {"output", LK_OUT},
    {"Map", LK_OUTX},
    {"dependency-file", LK_OUTX},
    {"out-implib", LK_OUTX},
    {"L", LK_DIR},
    {"library-path", LK_DIR},
    {"rpath-link", LK_DIR},
    {"l", LK_LIB},
    {"library", LK_LIB},
    {"T", LK_FILE},
    {"script", LK_FILE},
    {"dT", LK_FILE},
    {"default-script", LK_FILE},
    {"version-script", LK_FILE},
    {"dynamic-list", LK_FILE},
    {"retain-symbols-file", LK_FILE},
    {"c", LK_FILE},
    {"mri-script", LK_FILE},
    {"just-symbols", LK_FILE},
    {"plugin", LK_FILE},
    {"export-dynamic-symbol-list", LK_FILE},
    {"R", LK_R},
    {"plugin-opt", LK_GEN},
    {"sysroot", LK_FAIL},
    {"a", LK_KEEP},
    {"A", LK_KEEP},
    {"architecture", LK_KEEP},
    {"b", LK_KEEP},
    {"format", LK_KEEP},
    {"e", LK_KEEP},
    {"entry", LK_KEEP},
    {"f", LK_KEEP},
    {"auxiliary", LK_KEEP},
    {"F", LK_KEEP},
    {"filter", LK_KEEP},
    {"G", LK_KEEP},
    {"h", LK_KEEP},
    {"soname", LK_KEEP},
    {"m", LK_KEEP},
    {"O", LK_KEEP},
    {"u", LK_KEEP},
    {"undefined", LK_KEEP},
    {"y", LK_KEEP},
    {"trace-symbol", LK_KEEP},
    {"Y", LK_KEEP},
    {"z", LK_KEEP},
    {"dynamic-linker", LK_KEEP},
    {"I", LK_KEEP},
    {"rpath", LK_KEEP},
    {"defsym", LK_KEEP},
    {"init", LK_KEEP},
    {"fini", LK_KEEP},
    {"exclude-libs", LK_KEEP},
    {"section-start", LK_KEEP},
    {"Tbss", LK_KEEP},
    {"Tdata", LK_KEEP},
    {"Ttext", LK_KEEP},
    {"Ttext-segment", LK_KEEP},
    {"Trodata-segment", LK_KEEP},
    {"Tldata-segment", LK_KEEP},
    {"image-base", LK_KEEP},
    {"require-defined", LK_KEEP},
    {"wrap", LK_KEEP},
    {"hash-style", LK_KEEP},
    {"audit", LK_KEEP},
    {"depaudit", LK_KEEP},
    {"P", LK_KEEP},
    {"sort-section", LK_KEEP},
    {"spare-dynamic-tags", LK_KEEP},
    {"task-link", LK_KEEP},
    {"version-exports-section", LK_KEEP},
    {"dynamic-list-data", LK_KEEP},
};

/* Single-dash letters that take a joined value ("-lm", "-L.", "-Tx.ld", "-zrelro"). */
static const char joined_short[] = "lLTzRy";

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int find_opt(const char *name, size_t n)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(ld_opts); i++)
		if (strlen(ld_opts[i].name) == n && !strncmp(ld_opts[i].name, name, n))
			return (int)i;
	return -1;
}

/* ---- ELF and archive sniffing ---- */

enum ftype { F_OTHER, F_OBJ, F_SHARED, F_ARCHIVE, F_THIN, F_SCRIPT };

static enum ftype file_type(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return F_OTHER;
	unsigned char h[64];
	ssize_t n = read(fd, h, sizeof h);
	close(fd);
	if (n >= 8 && !memcmp(h, "!<arch>\n", 8))
		return F_ARCHIVE;
	if (n >= 8 && !memcmp(h, "!<thin>\n", 8))
		return F_THIN;
	if (n >= (ssize_t)sizeof(Elf64_Ehdr) && !memcmp(h, ELFMAG, SELFMAG)) {
		uint16_t type;
		memcpy(&type, h + 16, 2);
		return type == ET_DYN ? F_SHARED : F_OBJ;
	}
	if (n >= 4 && !memcmp(h, ELFMAG, SELFMAG))
		return F_OBJ;
	for (ssize_t i = 0; i < n; i++)
		if (h[i] == 0)
			return F_OTHER;
	return F_SCRIPT;
}

/* PT_INTERP of our own executable: the host's loader. */
static char *host_loader(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	Elf64_Ehdr eh;
	char *r = NULL;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh.e_phentsize == sizeof(Elf64_Phdr)) {
		for (unsigned i = 0; i < eh.e_phnum && !r; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) !=
			    (ssize_t)sizeof ph)
				break;
			if (ph.p_type != PT_INTERP || ph.p_filesz < 2 || ph.p_filesz > 4096)
				continue;
			char *s = xmalloc(ph.p_filesz + 1);
			if (pread(fd, s, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz) {
				s[ph.p_filesz] = 0;
				r = s;
			} else {
				free(s);
			}
		}
	}
	close(fd);
	return r;
}

/* Does a host file hold GCC LTO bytecode? (Section names say so.) */
static bool file_has_lto(const char *path)
{
	struct buf b = BUF_INIT;
	bool r = false;
	if (read_file(path, &b, 512u << 20) == 0)
		r = memmem(b.data, b.len, ".gnu.lto_", 9) != NULL;
	buf_free(&b);
	return r;
}

/* ---- the link state ---- */

struct link {
	struct model_ctx *m;
	const struct link_job *job;
	struct thunk t;
	struct temp_names tn;
	struct strvec args;  /* the thunk's ld arguments */
	struct strvec ldirs; /* host -L dirs, as given, then ld's defaults */
	size_t nuser_ldirs;
	struct strvec shared;    /* host shared libraries linked (for DT_NEEDED) */
	struct strvec ph_shared; /* placeholder shared libraries (their link thunks) */
	bool static_mode;
	unsigned char mode_stack[64];
	size_t mode_depth;
	bool has_plugin, lto;
	char *plugin; /* the -plugin's host path */
	char *out_host, *out_where;
};

static void link_free(struct link *l)
{
	thunk_free(&l->t);
	temp_names_free(&l->tn);
	strvec_free(&l->args);
	strvec_free(&l->ldirs);
	strvec_free(&l->shared);
	strvec_free(&l->ph_shared);
	free(l->out_host);
	free(l->out_where);
	free(l->plugin);
}

static bool ref_is_lto(struct store *s, const struct gg_ref *ref, int depth, int *budget);

/* Adds a file ld reads; notes shared libraries and LTO objects. */
static int link_input(struct link *l, const char *host, char **where)
{
	struct model_ctx *m = l->m;
	if (model_is_temp(l->job->temps, host)) {
		const struct model_temp *tmp = model_temp_find(l->job->temps, host);
		if (!tmp)
			return gg_error("%s: a temp file no earlier stage writes", host);
		const char *local = temp_name(&l->tn, host);
		thunk_add_input(&l->t, local, &tmp->ref, false);
		if (where)
			*where = xstrdup(local);
		int budget = 64;
		if (l->has_plugin && !l->lto)
			l->lto = ref_is_lto(m->store, &tmp->ref, 0, &budget);
		return 0;
	}
	struct gg_ref ref;
	int ph = model_is_placeholder(host, &ref);
	if (ph < 0)
		return -1;
	if (ph == 1) {
		if (strstr(base_name(host), ".so"))
			strvec_push_take(&l->ph_shared, gg_ref_format(&ref));
		int budget = 64;
		if (l->has_plugin && !l->lto)
			l->lto = ref_is_lto(m->store, &ref, 0, &budget);
		gg_ref_free(&ref);
	} else {
		enum ftype ft = file_type(host);
		if (ft == F_THIN)
			return gg_error("%s is a thin archive", host);
		if (ft == F_SHARED)
			strvec_push(&l->shared, host);
		/* the project's own objects and archives; system ones are never bytecode */
		if (l->has_plugin && (ft == F_OBJ || ft == F_ARCHIVE) && !l->lto &&
		    model_in_base(m, host))
			l->lto = file_has_lto(host);
	}
	return model_add_input(m, &l->t, host, where);
}

/* The host file ld would open for -lNAME (or -l:FILE), or NULL. */
static char *search_lib(struct link *l, const char *name)
{
	for (size_t i = 0; i < l->ldirs.n; i++) {
		const char *d = l->ldirs.v[i];
		for (int k = 0; k < 2; k++) {
			char *p;
			if (name[0] == ':') {
				if (k)
					break;
				p = xasprintf("%s/%s", d, name + 1);
			} else {
				if (k == 0 && l->static_mode)
					continue;
				p = xasprintf("%s/lib%s.%s", d, name, k == 0 ? "so" : "a");
			}
			struct stat st;
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
				return p;
			/* a library made here later would come first */
			strvec_push_take(&l->m->probes, p);
		}
	}
	return NULL;
}

static int add_path_file(struct link *l, const char *host);

/* -lNAME: the file it finds is an input at the mapped place of its directory. */
static int add_lib(struct link *l, const char *name)
{
	char *p = search_lib(l, name);
	if (!p)
		return gg_error("cannot find -l%s", name);
	int r = add_path_file(l, p);
	free(p);
	return r;
}

/* ---- linker scripts ---- */

/* The next token of a script: a word, or one of ( ) , ; = */
static const char *script_token(const char **p, size_t *n)
{
	const char *s = *p;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			s = e ? e + 2 : s + strlen(s);
			continue;
		}
		break;
	}
	if (!*s) {
		*p = s;
		return NULL;
	}
	const char *b = s;
	if (strchr("(),;=", *s)) {
		s++;
	} else if (*s == '"') {
		const char *e = strchr(s + 1, '"');
		s = e ? e + 1 : s + strlen(s);
	} else {
		while (*s && !strchr(" \t\r\n(),;=", *s) && !(s[0] == '/' && s[1] == '*'))
			s++;
	}
	*n = (size_t)(s - b);
	*p = s;
	return b;
}

/* A file named inside a script: script dir, cwd, then the search dirs. */
static int add_script_name(struct link *l, const char *script, bool script_in_base, char *name)
{
	if (name[0] == '"') {
		memmove(name, name + 1, strlen(name));
		name[strlen(name) - 1] = 0;
	}
	if (!strncmp(name, "-l", 2))
		return add_lib(l, name + 2);
	if (name[0] == '/') {
		/* ld adds its sysroot only for scripts inside the sysroot */
		if (script_in_base)
			return gg_error("%s names the absolute path %s", script, name);
		return add_path_file(l, name);
	}
	const char *slash = strrchr(script, '/');
	struct strvec cands = STRVEC_INIT;
	strvec_push_take(&cands, slash ? xasprintf("%.*s/%s", (int)(slash - script), script, name)
	                               : xstrdup(name));
	strvec_push(&cands, name);
	for (size_t i = 0; i < l->ldirs.n; i++)
		strvec_push_take(&cands, xasprintf("%s/%s", l->ldirs.v[i], name));
	int r = gg_error("%s: cannot find %s", script, name);
	for (size_t i = 0; i < cands.n; i++) {
		struct stat st;
		if (stat(cands.v[i], &st) < 0 || !S_ISREG(st.st_mode)) {
			strvec_push(&l->m->probes, cands.v[i]);
			continue;
		}
		if (i == 1 && *l->m->prefix) {
			r = gg_error("%s: %s is found in the current directory", script, name);
			break;
		}
		r = add_path_file(l, cands.v[i]);
		break;
	}
	strvec_free(&cands);
	return r;
}

static int add_script(struct link *l, const char *host)
{
	struct buf b = BUF_INIT;
	if (read_file(host, &b, 1u << 20) < 0)
		return -1;
	bool in_base = model_in_base(l->m, host);
	int r = 0, depth = 0;
	const char *p = b.data;
	const char *tok;
	size_t n;
	bool in_list = false; /* inside INPUT(...) / GROUP(...) */
	int list_depth = 0;
	char *prev = NULL;
	while (r == 0 && (tok = script_token(&p, &n))) {
		char *w = xstrndup(tok, n);
		if (!strcmp(w, "(")) {
			depth++;
			if (prev && (!strcmp(prev, "INPUT") || !strcmp(prev, "GROUP")) &&
			    !in_list) {
				in_list = true;
				list_depth = depth;
			}
		} else if (!strcmp(w, ")")) {
			if (in_list && depth == list_depth)
				in_list = false;
			depth--;
		} else if (!strcmp(w, "INCLUDE") || !strcmp(w, "SEARCH_DIR")) {
			r = gg_error("%s uses %s", host, w);
		} else if (in_list && strcmp(w, ",") && strcmp(w, "AS_NEEDED")) {
			r = add_script_name(l, host, in_base, w);
		}
		free(prev);
		prev = w;
	}
	free(prev);
	buf_free(&b);
	return r;
}

/* A file found by searching: input at its mapped place; scripts are followed. */
static int add_path_file(struct link *l, const char *host)
{
	char *where = model_map(l->m, host);
	bool seen = thunk_find_input(&l->t, where) != NULL;
	free(where);
	if (seen)
		return 0;
	if (link_input(l, host, NULL) < 0)
		return -1;
	if (model_is_placeholder(host, NULL) != 1 && file_type(host) == F_SCRIPT)
		return add_script(l, host);
	return 0;
}

/* ---- DT_NEEDED closure ---- */

/*
 * The plugin is dlopen()ed by ld, which runs through the explicit loader:
 * the plugin's own libraries (libLLVM for clang's LLVMgold.so) must be in
 * the loader's --library-path, .gg-sys/lib, flattened like a closure.
 */
static int add_plugin_libs(struct link *l)
{
	char *loader = host_loader();
	if (!loader || !l->plugin) {
		free(loader);
		return 0;
	}
	char *argv[] = {loader, "--list", l->plugin, NULL};
	struct buf out = BUF_INIT;
	int status, r = 0;
	if (model_run(l->m, argv, NULL, &out, NULL, &status) == 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		for (char *s = out.data; r == 0 && s && *s;) {
			char *nl = strchr(s, '\n');
			if (nl)
				*nl = 0;
			char *arrow = strstr(s, "=> /");
			if (arrow) {
				char *path = arrow + 3, *sp = strstr(path, " (0x");
				if (sp)
					*sp = 0;
				char *where = xasprintf(".gg-sys/lib/%s", base_name(path));
				if (!thunk_find_input(&l->t, where)) {
					struct gg_ref ref = {0};
					r = store_put_file(l->m->store, path, &ref.name);
					if (r == 0)
						thunk_add_input(&l->t, where, &ref, false);
				}
				free(where);
			}
			s = nl ? nl + 1 : NULL;
		}
	}
	buf_free(&out);
	free(loader);
	return r;
}

/* What ld needs to check a shared library: its dependencies, where the loader finds them. */
static int add_needed(struct link *l)
{
	if (l->shared.n == 0 && l->ph_shared.n == 0)
		return 0;
	char *loader = host_loader();
	int r = 0;
	for (size_t i = 0; loader && r == 0 && i < l->shared.n; i++) {
		char *argv[] = {loader, "--list", l->shared.v[i], NULL};
		struct buf out = BUF_INIT;
		int status;
		if (model_run(l->m, argv, NULL, &out, NULL, &status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			buf_free(&out);
			continue; /* not loadable here: ld will say what it misses */
		}
		for (char *s = out.data; r == 0 && s && *s;) {
			char *nl = strchr(s, '\n');
			if (nl)
				*nl = 0;
			char *arrow = strstr(s, "=> /");
			if (arrow) {
				char *path = arrow + 3, *sp = strstr(path, " (0x");
				if (sp)
					*sp = 0;
				char *where = model_map(l->m, path);
				if (!thunk_find_input(&l->t, where))
					r = model_add_input(l->m, &l->t, path, NULL);
				free(where);
			}
			s = nl ? nl + 1 : NULL;
		}
		buf_free(&out);
	}
	free(loader);
	/* A shared library built by an earlier thunk: take what that link took. */
	for (size_t i = 0; r == 0 && i < l->ph_shared.n; i++) {
		struct gg_ref ref;
		struct buf b = BUF_INIT;
		struct thunk other;
		if (gg_ref_parse(l->ph_shared.v[i], strlen(l->ph_shared.v[i]), &ref) < 0)
			return -1;
		if (gg_name_kind(&ref.name) != GG_THUNK ||
		    store_read(l->m->store, &ref.name, &b, THUNK_MAX_SIZE) < 0 ||
		    thunk_parse(b.data, b.len, &other) < 0) {
			gg_ref_free(&ref);
			buf_free(&b);
			continue;
		}
		for (size_t k = 0; k < other.ninputs; k++) {
			const struct thunk_input *in = &other.inputs[k];
			bool toolchain = !strncmp(in->path, ".gg-sys/", 8) &&
			                 strncmp(in->path, MODEL_ROOT "/", strlen(MODEL_ROOT) + 1);
			if (!strstr(base_name(in->path), ".so") || toolchain)
				continue;
			if (!thunk_find_input(&l->t, in->path) &&
			    !thunk_has_output(&l->t, in->path) && strcmp(in->path, l->out_where))
				thunk_add_input(&l->t, in->path, &in->ref, in->exec);
		}
		thunk_free(&other);
		gg_ref_free(&ref);
		buf_free(&b);
	}
	return r;
}

/* ld's built-in search directories (SEARCH_DIR in its default script). */
static int default_dirs(struct link *l, const char *emulation)
{
	struct strvec av = STRVEC_INIT;
	strvec_push(&av, l->job->linker);
	strvec_push(&av, "--verbose");
	if (emulation) {
		strvec_push(&av, "-m");
		strvec_push(&av, emulation);
	}
	struct buf out = BUF_INIT;
	int status, r = model_run(l->m, av.v, NULL, &out, NULL, &status);
	strvec_free(&av);
	for (const char *s = out.data; r == 0 && s && (s = strstr(s, "SEARCH_DIR(\""));) {
		s += 12;
		const char *e = strchr(s, '"');
		if (!e)
			break;
		if (*s == '=')
			s++;
		if (*s == '/')
			strvec_pushn(&l->ldirs, s, (size_t)(e - s));
		s = e;
	}
	buf_free(&out);
	return r;
}

/* ---- LTO ---- */

/*
 * lto-wrapper runs the driver by name (COLLECT_GCC, found on PATH), the driver
 * finds lto1 on COMPILER_PATH and as on PATH: all of them become inputs, and
 * the loader goes where their PT_INTERP points, since they are exec()ed
 * directly. Their libraries come from LD_LIBRARY_PATH.
 */
static int add_lto(struct link *l)
{
	struct model_ctx *m = l->m;
	char *driver = model_which(m, l->job->driver ? l->job->driver : "gcc");
	if (!driver)
		return gg_error("LTO: the driver is not on the real PATH");
	int r = tbuild_add_closure(m->store, &l->t, driver, m->realpath);
	if (r == 0)
		r = tbuild_add_closure(m->store, &l->t, "as", m->realpath);
	model_probe_path(m, l->job->driver ? l->job->driver : "gcc");
	model_probe_path(m, "as");
	if (r == 0) {
		char *argv[] = {driver, "-print-prog-name=lto1", NULL};
		struct buf out = BUF_INIT;
		int status;
		r = model_run(m, argv, NULL, &out, NULL, &status);
		if (r == 0 && out.len && out.data[out.len - 1] == '\n')
			out.data[--out.len] = 0;
		if (r == 0 && (!out.data || out.data[0] != '/'))
			r = gg_error("LTO: the driver does not know where lto1 is");
		if (r == 0)
			r = tbuild_add_closure(m->store, &l->t, out.data, m->realpath);
		buf_free(&out);
	}
	char *loader = host_loader();
	if (r == 0 && loader) {
		struct gg_ref ref = {0};
		r = store_put_file(m->store, loader, &ref.name);
		if (r == 0)
			thunk_add_input(&l->t, loader + 1, &ref, true);
	}
	free(loader);
	if (r == 0) {
		strvec_push_take(&l->t.env, xasprintf("COLLECT_GCC=%s", base_name(driver)));
		if (l->job->collect_options)
			strvec_push_take(&l->t.env, xasprintf("COLLECT_GCC_OPTIONS=%s",
			                                      l->job->collect_options));
		strvec_push(&l->t.env, "PATH=/.gg-sys/bin");
		strvec_push(&l->t.env, "COMPILER_PATH=/.gg-sys/bin");
		strvec_push(&l->t.env, "LD_LIBRARY_PATH=/.gg-sys/lib");
	}
	free(driver);
	return r;
}

/*
 * Was a placeholder's bytes made with -flto? Its thunk (or one it depends
 * on: as <- cc1, ar <- as <- cc1) says so in its arguments.
 */
static bool ref_is_lto(struct store *s, const struct gg_ref *ref, int depth, int *budget)
{
	if (gg_name_kind(&ref->name) != GG_THUNK || depth > 3 || --*budget < 0)
		return false;
	struct buf b = BUF_INIT;
	struct thunk t;
	if (store_read(s, &ref->name, &b, THUNK_MAX_SIZE) < 0 ||
	    thunk_parse(b.data, b.len, &t) < 0) {
		buf_free(&b);
		return false;
	}
	buf_free(&b);
	bool lto = false;
	for (size_t i = 0; i < t.argv.n && !lto; i++)
		lto = !strncmp(t.argv.v[i], "-flto", 5) &&
		      strncmp(t.argv.v[i], "-flto-partition", 15);
	for (size_t i = 0; i < t.ninputs && !lto; i++)
		if (t.inputs[i].ref.output)
			lto = ref_is_lto(s, &t.inputs[i].ref, depth + 1, budget);
	thunk_free(&t);
	return lto;
}

/* ---- the arguments ---- */

static int rewrite_gen(struct link *l, const char *a, char **out)
{
	const char *eq = strrchr(a, '=');
	const char *v = eq ? eq + 1 : a;
	struct stat st;
	if (model_is_temp(l->job->temps, v)) {
		/*
		 * A temp ld (or the plugin) writes, e.g. -fresolution=...: not an
		 * output, so an empty file makes its directory exist.
		 */
		struct gg_ref keep = {0};
		if (store_put_buf(l->m->store, "", 0, GG_VALUE, &keep.name) < 0)
			return -1;
		thunk_add_input(&l->t, MODEL_TMP "/.keep", &keep, false);
		*out = xasprintf("%.*s%s", (int)(v - a), a, temp_name(&l->tn, v));
		return 0;
	}
	if (v[0] != '/' || stat(v, &st) < 0 || !S_ISREG(st.st_mode)) {
		*out = xstrdup(a);
		return 0;
	}
	char *where;
	if (model_add_input(l->m, &l->t, v, &where) < 0)
		return -1;
	*out = xasprintf("%.*s%s", (int)(v - a), a, where);
	free(where);
	return 0;
}

static void set_mode(struct link *l, const char *a)
{
	if (!strcmp(a, "-Bstatic") || !strcmp(a, "-dn") || !strcmp(a, "-non_shared") ||
	    !strcmp(a, "-static") || !strcmp(a, "--static"))
		l->static_mode = true;
	else if (!strcmp(a, "-Bdynamic") || !strcmp(a, "-dy") || !strcmp(a, "-call_shared"))
		l->static_mode = false;
	else if (!strcmp(a, "--push-state") && l->mode_depth < sizeof l->mode_stack)
		l->mode_stack[l->mode_depth++] = l->static_mode;
	else if (!strcmp(a, "--pop-state") && l->mode_depth > 0)
		l->static_mode = l->mode_stack[--l->mode_depth];
}

/* Splits an option into its table entry and value (joined or the next arg). */
static int classify(const char *a, const char **val, bool *joined)
{
	*val = NULL;
	*joined = false;
	if (a[0] != '-' || !a[1])
		return -1;
	const char *name = a + 1 + (a[1] == '-');
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	int k = find_opt(name, n);
	if (k >= 0) {
		if (eq) {
			*val = eq + 1;
			*joined = true;
		}
		return k;
	}
	if (a[1] != '-' && a[2] && strchr(joined_short, a[1])) {
		k = find_opt(a + 1, 1);
		*val = a + 2;
		*joined = true;
		return k;
	}
	return -1;
}

static int link_args(struct link *l)
{
	char **av = l->job->args;
	size_t n = l->job->nargs;
	int r = 0;
	/* -L applies to every -l wherever it stands: collect them first. */
	const char *emulation = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *v;
		bool joined;
		int k = classify(av[i], &v, &joined);
		if (k < 0)
			continue;
		if (!joined && i + 1 < n && ld_opts[k].kind != LK_FAIL)
			v = av[++i];
		if (!v)
			continue;
		if (ld_opts[k].kind == LK_DIR && strcmp(ld_opts[k].name, "rpath-link"))
			strvec_push(&l->ldirs, v);
		if (!strcmp(ld_opts[k].name, "m"))
			emulation = v;
		if (!strcmp(ld_opts[k].name, "plugin")) {
			l->has_plugin = true;
			free(l->plugin);
			l->plugin = xstrdup(v);
		}
	}
	l->nuser_ldirs = l->ldirs.n;
	if (default_dirs(l, emulation) < 0)
		return -1;

	strvec_push(&l->args, "--sysroot=" MODEL_ROOT);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *a = av[i], *v;
		bool joined;
		int k = classify(a, &v, &joined);
		if (a[0] == '@')
			return gg_error("a response file (%s)", a);
		if (k < 0) {
			if (a[0] == '-' && a[1]) {
				set_mode(l, a);
				char *w;
				r = rewrite_gen(l, a, &w);
				if (r == 0)
					strvec_push_take(&l->args, w);
				continue;
			}
			/* an input file */
			struct stat st;
			if (!model_is_temp(l->job->temps, a) && stat(a, &st) < 0)
				return gg_error("input %s does not exist", a);
			char *w;
			r = link_input(l, a, &w);
			if (r == 0) {
				strvec_push_take(&l->args, w);
				if (!model_is_temp(l->job->temps, a) &&
				    model_is_placeholder(a, NULL) != 1 && file_type(a) == F_SCRIPT)
					r = add_script(l, a);
			}
			continue;
		}
		enum ldk kind = ld_opts[k].kind;
		if (kind == LK_FAIL)
			return gg_error("%s is not modelled", a);
		if (!joined) {
			if (i + 1 >= n)
				return gg_error("%s without its value", a);
			v = av[++i];
		}
		char *w = NULL;
		switch (kind) {
		case LK_OUT:
			if (l->out_host)
				return gg_error("two outputs");
			l->out_host = xstrdup(v);
			l->out_where = model_map(l->m, v);
			w = xstrdup(l->out_where);
			break;
		case LK_OUTX: return gg_error("%s writes a second output (%s)", a, v);
		case LK_DIR: w = model_map(l->m, v); break;
		case LK_LIB:
			r = add_lib(l, v);
			w = xstrdup(v);
			break;
		case LK_FILE:
			if (!model_is_temp(l->job->temps, v) && access(v, F_OK) < 0)
				return gg_error("%s %s: no such file", a, v);
			r = link_input(l, v, &w);
			break;
		case LK_R: {
			struct stat st;
			if (stat(v, &st) == 0 && S_ISREG(st.st_mode))
				r = link_input(l, v, &w);
			else
				w = xstrdup(v);
			break;
		}
		case LK_GEN: r = rewrite_gen(l, v, &w); break;
		case LK_KEEP:
		case LK_FAIL: w = xstrdup(v); break;
		}
		if (r < 0) {
			free(w);
			break;
		}
		/* Keep the option's form: joined stays joined. */
		if (joined) {
			const char *vp = v;
			strvec_push_take(&l->args, xasprintf("%.*s%s", (int)(vp - a), a, w));
			free(w);
		} else {
			strvec_push(&l->args, a);
			strvec_push_take(&l->args, w);
		}
	}
	if (r == 0 && !l->out_host) {
		l->out_host = xstrdup("a.out");
		l->out_where = model_map(l->m, "a.out");
	}
	return r;
}

int model_link(struct model_ctx *m, const struct link_job *job, struct gg_name *name, char **output,
               char **thunk_out)
{
	/* ld gives the output a run path from it when no -rpath is given; the
	 * thunk's environment has no such variable */
	const char *run_path = getenv("LD_RUN_PATH");
	if (run_path && *run_path)
		return gg_error("$LD_RUN_PATH is set (it gives the linked program a run path)");
	struct link l = {.m = m, .job = job};
	thunk_init(&l.t);
	int r = link_args(&l);
	if (r == 0 && !strcmp(l.out_where, "."))
		r = gg_error("the output is the base directory");
	if (r == 0)
		r = add_needed(&l);
	/* gcc's plugin runs lto-wrapper and friends; LLVM's does its work in ld */
	bool gcc_plugin = l.plugin && !strncmp(base_name(l.plugin), "liblto_plugin", 13);
	if (r == 0 && l.lto && gcc_plugin)
		r = add_lto(&l);
	if (r == 0)
		r = model_set_program(m, &l.t, job->linker, base_name(job->linker), &l.args);
	if (r == 0 && l.plugin && !gcc_plugin)
		r = add_plugin_libs(&l);
	if (r == 0) {
		strvec_push(&l.t.outputs, l.out_where);
		r = tbuild_store(m->store, &l.t, name);
	}
	if (r == 0 && m->verbose) {
		char *line = thunk_command_line(&l.t);
		model_log(m, "link %s: %s", l.out_host, line);
		free(line);
	}
	if (r == 0) {
		*output = l.out_host;
		*thunk_out = l.out_where;
		l.out_host = l.out_where = NULL;
	}
	link_free(&l);
	return r;
}

int model_link_output(struct model_ctx *m, const struct link_job *job, struct model_outputs *outs)
{
	struct gg_name name;
	char *out = NULL, *where = NULL;
	int r = model_link(m, job, &name, &out, &where);
	if (r == 0) {
		struct gg_ref ref = {name, where};
		if (job->temps && model_is_temp(job->temps, out))
			r = gg_error("the link writes a temp file");
		else
			model_outputs_add(outs, out, &ref);
	}
	free(out);
	free(where);
	return r;
}

/* ---- the ld model: a link nobody drove ---- */

int model_ld(struct model_ctx *m)
{
	if (getenv(MODEL_ENV_BYPASS))
		return model_fallback(m, MODEL_ENV_BYPASS " is set");
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (!strcmp(a, "-v") || !strcmp(a, "--version") || !strcmp(a, "-V") ||
		    starts(a, "--help") || !strcmp(a, "--verbose") || starts(a, "--print-") ||
		    starts(a, "-plugin-save-temps"))
			return model_fallback(m, "a query, not a link");
		if (starts(base_name(a), "conftest") || !strcmp(a, "/dev/null"))
			return model_fallback(m, "a configure probe (its result is wanted now)");
	}
	if (m->argc < 2)
		return model_fallback(m, "no arguments");
	if (model_open_store(m) < 0)
		return model_fallback(m, "no store: %s", gg_last_error());
	if (model_memo_replay(m))
		return 0;
	struct model_temps temps = {0};
	struct link_job job = {
	    .args = m->argv + 1,
	    .nargs = (size_t)(m->argc - 1),
	    .linker = m->tool,
	    .temps = &temps,
	};
	struct model_outputs outs = {STRVEC_INIT, NULL, 0};
	int r = model_link_output(m, &job, &outs);
	if (r == 0)
		r = model_outputs_write(m, &outs);
	if (r == 0)
		model_memo_record(m, &outs);
	model_outputs_free(&outs);
	if (r < 0) {
		return model_fallback(m, "%s", gg_last_error());
	}
	return 0;
}
