/**
 * @file driver.c
 * A small standalone fuzz driver, so the fuzz targets run without libFuzzer.
 *
 *     fuzz_NAME CORPUS_DIR     replay every file in CORPUS_DIR, then mutate
 *                              them for $GG_FUZZ_SECONDS seconds (default 5)
 *     fuzz_NAME FILE...        replay just these files (to reproduce a crash)
 *
 * A target is the libFuzzer entry point, LLVMFuzzerTestOneInput(data, size);
 * it reports a bug by crashing (abort(), or a sanitizer report). Each input is
 * passed in a heap block of exactly its size, so an overread hits the
 * sanitizer's redzone. The mutations are random but seeded: the seed is
 * printed, and GG_FUZZ_SEED=N repeats a run. When an input crashes, it is
 * saved first (to $GG_FUZZ_CRASH_DIR, default /tmp) and its path printed.
 *
 * Environment: GG_FUZZ_SECONDS, GG_FUZZ_SEED, GG_FUZZ_RUNS (stop after N
 * mutated inputs), GG_FUZZ_MAX_LEN (default 65536), GG_FUZZ_TIMEOUT (seconds
 * one input may take, default 10), GG_FUZZ_CRASH_DIR. See tests/fuzz/README.
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Optional hooks: the target's initializer, and the sanitizers' last words. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

struct input {
	uint8_t *data;
	size_t len;
	char *path;
};

static struct input *corpus;
static size_t ncorpus, corpus_cap;
static size_t max_len = 65536;

/* ---- small helpers ---- */

static _Noreturn void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "fuzz: ");
	fprintf(stderr, fmt, arg, strerror(errno));
	fprintf(stderr, "\n");
	exit(2);
}

static void *xrealloc_or_die(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "fuzz: out of memory\n");
		abort();
	}
	return p;
}

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* A random number in [0, n); 0 when n is 0. */
static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || *s == '-') {
		fprintf(stderr, "fuzz: %s=%s is not a non-negative number\n", name, s);
		exit(2);
	}
	return (uint64_t)v;
}

/* ---- crash reporting ---- */

/*
 * The input being run, and where to save it if it crashes. Everything the
 * handlers use is prepared in advance: they only call async-signal-safe
 * functions.
 */
static const uint8_t *volatile current_data;
static volatile size_t current_len;
static volatile uint64_t current_iter;
static const char *volatile current_file; /* set when the input is a corpus file */
static char crash_prefix[1024];
static volatile sig_atomic_t dumped;

static void put_str(const char *s)
{
	if (write(2, s, strlen(s)) < 0) {
		/* nothing more we can do */
	}
}

static void save_current_input(void)
{
	if (dumped || !current_data)
		return;
	dumped = 1;
	if (current_file) {
		put_str("fuzz: crashed on the corpus file ");
		put_str(current_file);
		put_str("\n");
		return;
	}
	char path[1100], digits[24];
	size_t n = strlen(crash_prefix);
	memcpy(path, crash_prefix, n);
	uint64_t v = current_iter;
	int d = 0;
	do {
		digits[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (d)
		path[n++] = digits[--d];
	path[n] = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		const uint8_t *p = current_data;
		size_t left = current_len;
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
		close(fd);
		put_str("fuzz: the crashing input was saved to ");
		put_str(path);
		put_str("\nfuzz: reproduce with: <this fuzz binary> ");
		put_str(path);
		put_str("\n");
	} else {
		put_str("fuzz: cannot save the crashing input to ");
		put_str(path);
		put_str("\n");
	}
}

static void on_fatal_signal(int sig)
{
	if (sig == SIGALRM)
		put_str("fuzz: an input took too long (GG_FUZZ_TIMEOUT)\n");
	save_current_input();
	signal(sig == SIGALRM ? SIGABRT : sig, SIG_DFL);
	raise(sig == SIGALRM ? SIGABRT : sig);
}

static void install_crash_handlers(const char *argv0, uint64_t seed)
{
	const char *dir = getenv("GG_FUZZ_CRASH_DIR");
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	snprintf(crash_prefix, sizeof crash_prefix, "%s/%s-crash-%llu-", dir && *dir ? dir : "/tmp",
	         base, (unsigned long long)seed);
	/* Under a sanitizer, its report (with a stack trace) handles memory
	 * faults and then calls us back; otherwise we catch them ourselves. */
	int sigs[] = {SIGABRT, SIGALRM, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	size_t nsigs = sizeof sigs / sizeof sigs[0];
	if (__sanitizer_set_death_callback) {
		__sanitizer_set_death_callback(save_current_input);
		nsigs = 2;
	}
	for (size_t i = 0; i < nsigs; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_NODEFER | SA_RESETHAND;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Runs one input from an exact-size heap copy. */
static unsigned input_timeout = 10;

static void run_one(const uint8_t *data, size_t len, uint64_t iter, const char *file)
{
	uint8_t *copy = xrealloc_or_die(NULL, len);
	if (len)
		memcpy(copy, data, len);
	current_iter = iter;
	current_file = file;
	current_len = len;
	current_data = copy;
	if (input_timeout)
		alarm(input_timeout);
	LLVMFuzzerTestOneInput(copy, len);
	if (input_timeout)
		alarm(0);
	current_data = NULL;
	free(copy);
}

/* ---- the corpus ---- */

static void add_input(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open corpus file %s: %s", path);
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			data = xrealloc_or_die(data, cap);
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read corpus file %s: %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ncorpus == corpus_cap) {
		corpus_cap = corpus_cap ? 2 * corpus_cap : 64;
		corpus = xrealloc_or_die(corpus, corpus_cap * sizeof *corpus);
	}
	size_t pl = strlen(path);
	char *copy = xrealloc_or_die(NULL, pl + 1);
	memcpy(copy, path, pl + 1);
	corpus[ncorpus++] = (struct input){data, len, copy};
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every regular file of dir, in name order (so runs are repeatable). */
static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		die("cannot open corpus directory %s: %s", dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = xrealloc_or_die(names, cap * sizeof *names);
		}
		size_t len = strlen(e->d_name);
		names[n] = xrealloc_or_die(NULL, len + 1);
		memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = xrealloc_or_die(NULL, len);
		snprintf(path, len, "%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			add_input(path);
		free(path);
		free(names[i]);
	}
	free(names);
}

static void free_corpus(void)
{
	for (size_t i = 0; i < ncorpus; i++) {
		free(corpus[i].data);
		free(corpus[i].path);
	}
	free(corpus);
}

/* ---- mutations ---- */

struct mbuf {
	uint8_t *data;
	size_t len, cap;
};

static void mb_reserve(struct mbuf *b, size_t len)
{
	if (len > b->cap) {
		b->cap = len * 2;
		b->data = xrealloc_or_die(b->data, b->cap);
	}
}

static void mb_set(struct mbuf *b, const uint8_t *data, size_t len)
{
	mb_reserve(b, len);
	if (len)
		memcpy(b->data, data, len);
	b->len = len;
}

/* Replaces b[at, at+del) with n bytes of src (src may not point into b). */
static void mb_splice(struct mbuf *b, size_t at, size_t del, const uint8_t *src, size_t n)
{
	if (at > b->len)
		at = b->len;
	if (del > b->len - at)
		del = b->len - at;
	mb_reserve(b, b->len - del + n);
	memmove(b->data + at + n, b->data + at + del, b->len - at - del);
	if (n)
		memcpy(b->data + at, src, n);
	b->len = b->len - del + n;
}

/* Start and end of a random line (end includes its '\n' if any). */
static void random_line(const struct mbuf *b, size_t *start, size_t *end)
{
	size_t at = below(b->len);
	size_t s = at, e = at;
	while (s > 0 && b->data[s - 1] != '\n')
		s--;
	while (e < b->len && b->data[e] != '\n')
		e++;
	if (e < b->len)
		e++;
	*start = s;
	*end = e;
}

static const uint8_t interesting[] = {0,   1,   '\n', ' ', '#', '/', '.', '-',  '=',  'x', '0',
                                      '1', '9', 'T',  'V', 'a', 'f', 'g', 0x7f, 0x80, 0xff};

static const char *const number_swaps[] = {"0",
                                           "1",
                                           "00",
                                           "01",
                                           "-1",
                                           "+1",
                                           "",
                                           " 1",
                                           "9",
                                           "10",
                                           "65",
                                           "99999",
                                           "4294967296",
                                           "18446744073709551609",
                                           "18446744073709551615",
                                           "18446744073709551616",
                                           "99999999999999999999"};

/* Replaces a random run of decimal digits with another number. */
static void mutate_number(struct mbuf *b)
{
	size_t runs = 0;
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] >= '0' && b->data[i] <= '9' &&
		    (i == 0 || b->data[i - 1] < '0' || b->data[i - 1] > '9'))
			runs++;
	if (!runs)
		return;
	size_t pick = below(runs), start = 0, k = 0;
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] >= '0' && b->data[i] <= '9' &&
		    (i == 0 || b->data[i - 1] < '0' || b->data[i - 1] > '9')) {
			if (k++ == pick) {
				start = i;
				break;
			}
		}
	size_t end = start;
	unsigned long long v = 0;
	while (end < b->len && b->data[end] >= '0' && b->data[end] <= '9')
		v = v * 10 + (unsigned)(b->data[end++] - '0');
	char repl[32];
	switch (below(5)) {
	case 0: snprintf(repl, sizeof repl, "%llu", v + 1); break;
	case 1: snprintf(repl, sizeof repl, "%llu", v ? v - 1 : 0); break;
	case 2: snprintf(repl, sizeof repl, "%llu", (unsigned long long)below(300)); break;
	case 3: snprintf(repl, sizeof repl, "0%llu", v); break;
	default:
		snprintf(repl, sizeof repl, "%s",
		         number_swaps[below(sizeof number_swaps / sizeof *number_swaps)]);
	}
	mb_splice(b, start, end - start, (const uint8_t *)repl, strlen(repl));
}

static void mutate(struct mbuf *b, struct mbuf *scratch)
{
	const struct input *other = ncorpus ? &corpus[below(ncorpus)] : NULL;
	switch (below(14)) {
	case 0: /* flip a bit */
		if (b->len)
			b->data[below(b->len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* an interesting byte */
		if (b->len)
			b->data[below(b->len)] = interesting[below(sizeof interesting)];
		break;
	case 2: { /* insert random bytes */
		uint8_t r[4];
		size_t n = 1 + below(4);
		for (size_t i = 0; i < n; i++)
			r[i] = below(2) ? interesting[below(sizeof interesting)] : (uint8_t)rnd();
		mb_splice(b, below(b->len + 1), 0, r, n);
		break;
	}
	case 3: /* delete a few bytes */
		if (b->len)
			mb_splice(b, below(b->len), 1 + below(8), NULL, 0);
		break;
	case 4: /* splice: our head, another entry's tail */
		if (other) {
			size_t at = below(b->len + 1), from = below(other->len + 1);
			b->len = at;
			mb_splice(b, at, 0, other->data + from, other->len - from);
		}
		break;
	case 5: /* truncate */ b->len = below(b->len + 1); break;
	case 6: { /* duplicate a line */
		if (!b->len)
			break;
		size_t s, e;
		random_line(b, &s, &e);
		mb_set(scratch, b->data + s, e - s);
		mb_splice(b, e, 0, scratch->data, scratch->len);
		break;
	}
	case 7: /* change a length prefix or other number */
	case 8: mutate_number(b); break;
	case 9: { /* delete a line */
		if (!b->len)
			break;
		size_t s, e;
		random_line(b, &s, &e);
		mb_splice(b, s, e - s, NULL, 0);
		break;
	}
	case 10: { /* swap a line with the next one */
		if (!b->len)
			break;
		size_t s, e;
		random_line(b, &s, &e);
		if (e >= b->len)
			break;
		size_t e2 = e;
		while (e2 < b->len && b->data[e2] != '\n')
			e2++;
		if (e2 < b->len)
			e2++;
		mb_set(scratch, b->data + s, e - s);
		memmove(b->data + s, b->data + e, e2 - e);
		memcpy(b->data + s + (e2 - e), scratch->data, scratch->len);
		break;
	}
	case 11: /* insert a chunk of another entry */
		if (other && other->len) {
			size_t from = below(other->len), n = 1 + below(other->len - from);
			mb_splice(b, below(b->len + 1), 0, other->data + from, n);
		}
		break;
	case 12: { /* copy a chunk of ourselves over another place */
		if (b->len < 2)
			break;
		size_t from = below(b->len), n = 1 + below(b->len - from), to = below(b->len);
		mb_set(scratch, b->data + from, n);
		mb_splice(b, to, n, scratch->data, scratch->len);
		break;
	}
	default: /* insert a line from another entry */
		if (other && other->len) {
			struct mbuf o = {other->data, other->len, other->len};
			size_t s, e;
			random_line(&o, &s, &e);
			size_t at = 0;
			if (b->len) {
				size_t ls, le;
				random_line(b, &ls, &le);
				at = below(2) ? ls : le;
			}
			mb_splice(b, at, 0, other->data + s, e - s);
		}
	}
	if (b->len > max_len)
		b->len = max_len;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR | FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	uint64_t seed = env_u64("GG_FUZZ_SEED", 0);
	if (!getenv("GG_FUZZ_SEED") || !*getenv("GG_FUZZ_SEED"))
		seed = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) % 1000000000000u;
	uint64_t seconds = env_u64("GG_FUZZ_SECONDS", 5);
	uint64_t max_runs = env_u64("GG_FUZZ_RUNS", UINT64_MAX);
	max_len = (size_t)env_u64("GG_FUZZ_MAX_LEN", 65536);
	input_timeout = (unsigned)env_u64("GG_FUZZ_TIMEOUT", 10);
	rng_state = seed;
	install_crash_handlers(argv[0], seed);

	/* A directory is a corpus to replay and mutate; files are only replayed. */
	struct stat st;
	bool only_files = true;
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0)
			die("cannot open corpus directory %s: %s", argv[i]);
		if (S_ISDIR(st.st_mode)) {
			only_files = false;
			load_dir(argv[i]);
		} else {
			add_input(argv[i]);
		}
	}

	double t0 = now_s();
	uint64_t iter = 0;
	for (size_t i = 0; i < ncorpus; i++)
		run_one(corpus[i].data, corpus[i].len, iter++, corpus[i].path);
	printf("fuzz: replayed %zu corpus input%s from %s%s: %zu passed, 0 failed\n", ncorpus,
	       ncorpus == 1 ? "" : "s", argv[1], argc > 2 ? " ..." : "", ncorpus);
	if (only_files || seconds == 0 || max_runs == 0) {
		printf("fuzz: %llu inputs, 0 crashes\n", (unsigned long long)iter);
		free_corpus();
		return 0;
	}
	if (!ncorpus)
		fprintf(stderr, "fuzz: warning: the corpus %s is empty; mutating from nothing\n",
		        argv[1]);

	printf("fuzz: seed %llu (repeat with GG_FUZZ_SEED=%llu), mutating for %llu s\n",
	       (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)seconds);
	struct mbuf cur = {NULL, 0, 0}, scratch = {NULL, 0, 0};
	double deadline = t0 + (double)seconds;
	uint64_t mutated = 0;
	while (mutated < max_runs) {
		if ((mutated & 255) == 0 && now_s() >= deadline)
			break;
		/* Mostly start again from a corpus entry; sometimes keep going deeper. */
		if (mutated == 0 || below(4) != 0) {
			if (ncorpus) {
				const struct input *in = &corpus[below(ncorpus)];
				mb_set(&cur, in->data, in->len);
			} else {
				cur.len = 0;
			}
		}
		size_t n = 1 + below(4);
		for (size_t i = 0; i < n; i++)
			mutate(&cur, &scratch);
		run_one(cur.data, cur.len, iter++, NULL);
		mutated++;
	}
	free(cur.data);
	free(scratch.data);
	printf("fuzz: %llu mutated inputs in %.1f s (seed %llu)\n", (unsigned long long)mutated,
	       now_s() - t0, (unsigned long long)seed);
	printf("fuzz: %llu inputs, 0 crashes\n", (unsigned long long)iter);
	free_corpus();
	return 0;
}
