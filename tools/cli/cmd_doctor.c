/**
 * @file cmd_doctor.c
 * `gg doctor`: checks what this machine needs to run gg and ggfs, by trying
 * each thing for real (the sandbox's namespaces, a control group, opening
 * /dev/fuse, the store, the configured remote storage and workers), and
 * says how to mend each failure. gg-doctor(1).
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "backend/curl_setup.h"
#include "backend/engine/engine.h"
#include "backend/storage/storage.h"
#include "core/cgroup.h"
#include "core/closure.h"
#include "core/sandbox.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char doctor_help[] =
    "usage: gg doctor\n"
    "\n"
    "Checks what gg and ggfs need on this machine, each by trying it: user\n"
    "namespaces (the sandbox), /dev/fuse and fusermount3 (mounts), user_allow_other\n"
    "in /etc/fuse.conf, control groups (per-thunk limits), a C compiler, the store's\n"
    "permissions, and the remote storage and workers configured ($GG_STORAGE,\n"
    "$GG_ENGINE). Prints one line per check (ok, warn or FAIL) and how to fix each\n"
    "problem. Exits 0 when nothing failed (warnings allowed), 3 when a check failed.\n";

struct tally {
	int fails, warns;
};

enum verdict { OK, WARN, FAIL };

/* One line per check; a fix (if any) indented below it. */
static void report(struct tally *t, enum verdict v, const char *check, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct tally *t, enum verdict v, const char *check, const char *fix,
                   const char *fmt, ...)
{
	static const char *const tags[] = {"ok", "warn", "FAIL"};
	va_list ap;
	va_start(ap, fmt);
	printf("%-5s %-11s ", tags[v], check);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	if (v != OK && fix)
		printf("      fix: %s\n", fix);
	t->fails += v == FAIL;
	t->warns += v == WARN;
}

/* A /proc/sys value as a number, or -1 when it cannot be read. */
static long sysctl_num(const char *path)
{
	struct buf b = BUF_INIT;
	long v = -1;
	if (read_file(path, &b, 64) == 0 && b.len)
		v = strtol(b.data, NULL, 10);
	buf_free(&b);
	return v;
}

static void check_namespaces(struct tally *t)
{
	if (sandbox_available() && sandbox_binds_available()) {
		report(t, OK, "namespaces", NULL,
		       "user, mount, pid and net namespaces work: thunks run isolated, their "
		       "inputs read-only");
		return;
	}
	if (sandbox_available()) {
		report(t, WARN, "namespaces",
		       "allow read-only bind mounts in the sandbox's mount namespace (a security "
		       "module or a locked mount refuses them)",
		       "thunks run isolated, but their inputs are hard links, not read-only binds "
		       "(%s): each run makes the next hash its inputs again",
		       sandbox_binds_unavailable_reason());
		return;
	}
	const char *fix;
	if (sysctl_num("/proc/sys/user/max_user_namespaces") == 0)
		fix =
		    "user.max_user_namespaces is 0 here: sysctl -w user.max_user_namespaces=15000 "
		    "(as root; in a container, on its host)";
	else if (geteuid() != 0 && sysctl_num("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		fix = "kernel.unprivileged_userns_clone is 0 here: sysctl -w "
		      "kernel.unprivileged_userns_clone=1 (as root)";
	else if (geteuid() != 0 &&
	         sysctl_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		fix = "AppArmor restricts unprivileged user namespaces: sysctl -w "
		      "kernel.apparmor_restrict_unprivileged_userns=0 (as root), or a profile "
		      "allowing userns for gg";
	else
		fix = "allow unshare(2) of user, mount, pid and net namespaces (in a container: "
		      "a seccomp profile that permits them, e.g. docker run --security-opt "
		      "seccomp=unconfined)";
	report(t, FAIL, "namespaces", fix,
	       "cannot create the sandbox's namespaces (%s): thunks run NOT isolated",
	       sandbox_unavailable_reason());
}

static void check_fuse_device(struct tally *t)
{
	static const char dev[] = "/dev/fuse";
	struct stat st;
	if (stat(dev, &st) < 0) {
		report(t, FAIL, "fuse",
		       "modprobe fuse (as root); in a container: --device /dev/fuse",
		       "%s: %s: ggfs cannot mount", dev, strerror(errno));
		return;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 229) {
		report(t, FAIL, "fuse", "mknod -m 0666 /dev/fuse c 10 229 (as root)",
		       "%s is not the FUSE device (character device 10:229)", dev);
		return;
	}
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		report(t, FAIL, "fuse",
		       e == EACCES ? "chmod 0666 /dev/fuse (as root; Debian's default mode)"
		                   : "modprobe fuse (as root)",
		       "%s: %s: ggfs cannot mount", dev, strerror(e));
		return;
	}
	close(fd);
	report(t, OK, "fuse", NULL, "%s opens for reading and writing", dev);
}

/* libfuse runs fusermount3 from /usr/bin, else from PATH. */
static void check_fusermount(struct tally *t)
{
	char *p = closure_which("/usr/bin/fusermount3", NULL);
	if (!p)
		p = closure_which("fusermount3", NULL);
	if (!p) {
		report(t, FAIL, "fusermount", "apt-get install fuse3",
		       "fusermount3 is neither in /usr/bin nor on PATH: ggfs cannot mount");
		return;
	}
	struct stat st;
	if (geteuid() != 0 && (stat(p, &st) < 0 || st.st_uid != 0 || !(st.st_mode & S_ISUID))) {
		char *fix =
		    xasprintf("chown root %s && chmod u+s %s (as root), or reinstall fuse3", p, p);
		report(t, FAIL, "fusermount", fix,
		       "%s is not setuid root: mounts by users other than root fail", p);
		free(fix);
	} else {
		report(t, OK, "fusermount", NULL, "%s%s", p,
		       geteuid() != 0 ? " (setuid root)" : "");
	}
	free(p);
}

/* Whether /etc/fuse.conf has a line "user_allow_other" (not commented). */
static int fuse_conf_allows_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "re");
	if (!f)
		return -1;
	char line[512];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		char *s = line + strspn(line, " \t");
		size_t n = strcspn(s, " \t\r\n#");
		if (n == strlen("user_allow_other") && !strncmp(s, "user_allow_other", n))
			found = 1;
	}
	fclose(f);
	return found;
}

static void check_allow_other(struct tally *t)
{
	int r = fuse_conf_allows_other();
	if (r == 1)
		report(t, OK, "allow_other", NULL, "user_allow_other is set in /etc/fuse.conf");
	else if (geteuid() == 0)
		report(t, OK, "allow_other", NULL,
		       "user_allow_other is not set in /etc/fuse.conf, but root may mount with -o "
		       "allow_other without it");
	else
		report(t, WARN, "allow_other",
		       "add a line \"user_allow_other\" to /etc/fuse.conf (as root)",
		       "user_allow_other is not set in /etc/fuse.conf%s: your mounts cannot use -o "
		       "allow_other (other users, such as a build run as another user, cannot "
		       "read them)",
		       r < 0 ? " (there is none)" : "");
}

static void check_cgroups(struct tally *t)
{
	struct cgroup_run cg;
	if (cgroup_run_create(64u << 20, 64, &cg) < 0) {
		report(
		    t, WARN, "cgroups",
		    "run gg inside a cgroup v2 subtree delegated to you with the memory and pids "
		    "controllers (e.g. systemd-run --user --scope -p Delegate=yes gg force ...), "
		    "or, with cgroup v1, make your memory and pids groups writable by you (as "
		    "root)",
		    "%s: memory and process limits fall back to rlimits (RLIMIT_NPROC counts "
		    "all of your processes)",
		    gg_last_error());
		return;
	}
	const char *slash = strrchr(cg.mem, '/');
	report(t, OK, "cgroups", NULL,
	       "cgroup v%d: a group per thunk with memory and process limits (in %.*s)", cg.version,
	       (int)(slash ? slash - cg.mem : 0), cg.mem);
	cgroup_run_destroy(&cg);
}

static void check_compiler(struct tally *t)
{
	static const char *const names[] = {"cc", "gcc", "clang"};
	struct buf found = BUF_INIT;
	for (size_t i = 0; i < GG_ARRAY_LEN(names); i++) {
		char *p = closure_which(names[i], NULL);
		if (p)
			buf_printf(&found, "%s%s", found.len ? ", " : "", p);
		free(p);
	}
	if (found.len)
		report(t, OK, "compiler", NULL, "%s", found.data);
	else
		report(
		    t, FAIL, "compiler",
		    "apt-get install gcc (tools/deps.sh installs what building and the demo "
		    "need), or put your compiler's directory on PATH",
		    "no C compiler (cc, gcc or clang) on PATH: gg infer of a C build and make demo "
		    "need one");
	buf_free(&found);
}

static void check_store(struct tally *t)
{
	struct store *s;
	if (store_open(NULL, &s) < 0) {
		/* no store is fine, unless GG_DIR names one (every command would fail) */
		const char *named = getenv("GG_DIR");
		if (gg_last_code() == GG_ENOTFOUND && !(named && *named))
			report(t, OK, "store", NULL, "none: %s", gg_last_error());
		else
			report(
			    t, FAIL, "store",
			    "use a store of your own (gg init DIR, or GG_DIR=DIR); see gg-store(5)",
			    "%s", gg_last_error());
		return;
	}
	static const char *const subdirs[] = {"",         "objects",   "xobjects", "memo",
	                                      "tmp",      "locks",     "log",      "hashcache",
	                                      "verdicts", "quarantine"};
	for (size_t i = 0; i < GG_ARRAY_LEN(subdirs); i++) {
		char *d = xasprintf("%s%s%s", s->root, *subdirs[i] ? "/" : "", subdirs[i]);
		struct stat st;
		char *why = NULL;
		bool missing = stat(d, &st) < 0, other = !missing && !S_ISDIR(st.st_mode);
		if (missing)
			why = xasprintf("%s", strerror(errno));
		else if (other)
			why = xasprintf("not a directory");
		else if (access(d, R_OK | W_OK | X_OK) < 0)
			why = xasprintf("not writable by you (owner uid %u, mode %04o)",
			                (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		if (why) {
			char *fix = missing || other
			                ? xasprintf("%smkdir %s, or use a store of your own (gg "
			                            "init DIR, or GG_DIR=DIR)",
			                            other ? "move the file aside and " : "", d)
			                : xasprintf("chown -R %u %s (as root), or use a store of "
			                            "your own (gg init DIR, or GG_DIR=DIR)",
			                            (unsigned)geteuid(), s->root);
			report(t, FAIL, "store", fix, "%s: %s", d, why);
			free(why);
			free(fix);
			free(d);
			store_close(s);
			return;
		}
		free(d);
	}
	/* The real thing: a file made and removed where runs are prepared. */
	char *tmp;
	if (make_temp_in(s->tmp, &tmp) < 0) {
		report(t, FAIL, "store", "check the file system's free space and mount options",
		       "cannot create a file in %s: %s", s->tmp, gg_last_error());
	} else {
		unlink(tmp);
		free(tmp);
		report(t, OK, "store", NULL, "%s: readable and writable by you", s->root);
	}
	store_close(s);
}

static void check_storage(struct tally *t)
{
	const char *uri = getenv("GG_STORAGE");
	if (!uri || !*uri) {
		report(t, OK, "storage", NULL, "no remote storage configured (GG_STORAGE)");
		return;
	}
	char *pub = storage_uri_public(uri);
	static const char fix[] =
	    "check GG_STORAGE (the environment or the configuration file, gg(1)) and, for "
	    "s3://, GG_S3_ENDPOINT and the credentials; gg remote-has URI NAME asks the same";
	struct storage *st;
	if (storage_open(uri, &st) < 0) {
		report(t, FAIL, "storage", fix, "%s", gg_last_error());
		free(pub);
		return;
	}
	/* Asking for one object is a real round trip to the store. */
	struct gg_name empty;
	gg_name_of_buf("", 0, 'V', &empty);
	bool present;
	if (st->ops->has(st, &empty, 1, &present) < 0)
		report(t, FAIL, "storage", fix, "%s does not answer: %s", pub, gg_last_error());
	else
		report(t, OK, "storage", NULL, "%s answers", pub);
	storage_close(st);
	free(pub);
}

/* GET /health of the worker at URL (its .../execute): 0, or -1 with an error. */
static int worker_health(const char *url)
{
	long connect_ms;
	if (gg_curl_connect_timeout_ms(&connect_ms) < 0)
		return -1;
	CURL *c = gg_curl_easy(connect_ms);
	if (!c)
		return -1;
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t n = (size_t)(host - url) + strcspn(host, "/");
	char *u = xasprintf("%.*s/health", (int)n, url);
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	FILE *sink = fopen("/dev/null", "we");
	if (sink)
		curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	int r = 0;
	if (rc != CURLE_OK)
		r = gg_error("%s: %s", u, *err ? err : curl_easy_strerror(rc));
	else if (code != 200)
		r = gg_error("%s: HTTP %ld (not a gg worker?)", u, code);
	if (sink)
		fclose(sink);
	free(u);
	curl_easy_cleanup(c);
	return r;
}

static void check_engines(struct tally *t)
{
	const char *list = getenv("GG_ENGINE");
	if (!list || !*list) {
		report(t, OK, "engines", NULL, "none configured (GG_ENGINE): thunks run here");
		return;
	}
	struct engine_spec *v = NULL;
	size_t n = 0, cap = 0;
	if (engine_specs_parse(list, &v, &n, &cap) < 0) {
		report(t, FAIL, "engines", "see ENGINES in gg-force(1)", "GG_ENGINE: %s",
		       gg_last_error());
		engine_specs_free(v, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *spec = v[i].spec;
		if (!strncmp(spec, "http=", 5)) {
			char *urls = xstrdup(spec + 5), *save = NULL;
			for (char *u = strtok_r(urls, ",", &save); u;
			     u = strtok_r(NULL, ",", &save)) {
				if (worker_health(u) < 0)
					report(t, FAIL, "engines",
					       "start the worker (gg worker --listen ADDR:PORT, "
					       "gg-worker(1)) "
					       "or correct GG_ENGINE",
					       "http worker %s does not answer: %s", u,
					       gg_last_error());
				else
					report(t, OK, "engines", NULL, "http worker %s answers", u);
			}
			free(urls);
		} else if (!strncmp(spec, "slurm", 5)) {
			char *p = closure_which("sbatch", NULL);
			if (p)
				report(t, OK, "engines", NULL, "slurm: %s", p);
			else
				report(t, FAIL, "engines",
				       "apt-get install slurm-client, or put sbatch on PATH",
				       "slurm: sbatch is not on PATH");
			free(p);
		} else if (!strcmp(spec, "local")) {
			report(t, OK, "engines", NULL, "local: thunks run here");
		} else {
			report(t, OK, "engines", NULL, "%s: not checked by gg doctor", spec);
		}
		free(v[i].spec);
	}
	free(v);
}

int cmd_doctor(int argc, char **argv)
{
	if (wants_help(argc, argv, doctor_help))
		return 0;
	if (argc > 1) {
		fputs(doctor_help, stderr);
		return report_usage("doctor: unexpected argument '%s'", argv[1]);
	}
	struct tally t = {0};
	check_namespaces(&t);
	check_fuse_device(&t);
	check_fusermount(&t);
	check_allow_other(&t);
	check_cgroups(&t);
	check_compiler(&t);
	check_store(&t);
	check_storage(&t);
	check_engines(&t);
	if (t.fails)
		printf("gg doctor: %d problem%s, %d warning%s\n", t.fails, t.fails == 1 ? "" : "s",
		       t.warns, t.warns == 1 ? "" : "s");
	else
		printf("gg doctor: no problems, %d warning%s\n", t.warns, t.warns == 1 ? "" : "s");
	fflush(stdout);
	return t.fails ? 3 : 0;
}
