/**
 * @file cmd_worker.c
 * `gg worker`: its options, and the two carriers that need no server of
 * their own: the AWS Lambda custom-runtime loop (when AWS_LAMBDA_RUNTIME_API
 * is set, or as a `bootstrap`) and one request file for a Slurm job step
 * (--once). The HTTP server is worker_http.c; what a request does is
 * worker_exec.c. The wire format is backend/remote/wire.h.
 */
#include "backend/curl_setup.h"
#include "backend/remote/worker.h"
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "backend/remote/wire.h"
#include "backend/remote/worker_auth.h"
#include "backend/remote/worker_tls.h"
#include "core/json.h"
#include "core/sandbox.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char worker_help[] =
    "usage: gg worker [OPTIONS] --listen ADDR:PORT     an HTTP server (POST /execute)\n"
    "       gg worker [OPTIONS] --once REQUEST RESPONSE  one request file (a Slurm job step)\n"
    "       gg worker [OPTIONS]                         AWS Lambda runtime (AWS_LAMBDA_RUNTIME_API "
    "set)\n"
    "\n"
    "Runs thunks for remote engines (gg force -e http=..., lambda=..., slurm): fetches\n"
    "inputs from the request's storage, executes, uploads outputs, replies with names.\n"
    "\n"
    "  --dir DIR            the worker's own store (default $GG_DIR, else /tmp/gg-worker-UID;\n"
    "                       /tmp/gg under Lambda)\n"
    "  -j, --jobs N         requests executing at once (default: number of CPUs)\n"
    "  --cache-size SIZE    keep the store below SIZE (default 2G; 400M under Lambda; 0 = no "
    "limit)\n"
    "  --storage-allow URI  a storage requests may name, besides $GG_STORAGE (repeatable;\n"
    "                       exact URIs; file:// only this way or as $GG_STORAGE)\n"
    "  --no-sandbox         run thunks in a plain directory, without namespaces\n"
    "  --memory-limit SIZE  memory per thunk (default $GG_MEMORY_LIMIT, else half the RAM)\n"
    "  --process-limit N    processes and threads per thunk (default $GG_PROCESS_LIMIT,\n"
    "                       else 4096)\n"
    "  --default-timeout SEC  for thunks without a timeout of their own or their request's\n"
    "                       (default $GG_TIMEOUT, else 3600); limits: a number or none\n"
    "  --port-file FILE     write the port listened on (useful with --listen 127.0.0.1:0)\n"
    "  --max-connections N  open HTTP connections at most; more get 503 (default 512)\n"
    "  --max-inflight N     requests admitted at once, running or waiting for a slot; more\n"
    "                       get 503 with Retry-After (default 16 x --jobs, at least 256)\n"
    "  --max-body SIZE      one request body at most; larger get 413 (default 96M)\n"
    "  --max-memory SIZE    admitted request bodies in all; more get 503 (default 512M)\n"
    "  --read-timeout SEC   a request must arrive whole within SEC of its first byte, an\n"
    "                       answer be read within SEC; else 408 and close (default 60)\n"
    "  --idle-timeout SEC   close a connection idle this long between requests (default 60)\n"
    "  --token-file FILE    bearer tokens clients must send, one a line (also from\n"
    "                       $GG_WORKER_TOKENS); required unless ADDR is loopback\n"
    "  --allow-unauthenticated  listen beyond loopback without tokens (behind a proxy\n"
    "                       that authenticates)\n"
    "  --tls-cert FILE      serve HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE       ... and its PEM key (not readable by others)\n"
    "  --tls-client-ca FILE require client certificates signed by these PEM CAs (they\n"
    "                       authenticate like tokens)\n"
    "  -v, --verbose        a line per request on stderr\n"
    "  --fault-inject SPEC  tests only: 429=N,500=N,503=N,retry-after=SEC,hang=N,drop=N,\n"
    "                       die=N,slow=MS,corrupt=N,other-thunk=N,drop-reply=N\n"
    "  --fake-exec          benchmarks only: make up outputs instead of running thunks\n";

static int parse_faults(const char *spec, struct worker_faults *f)
{
	char *copy = xstrdup(spec), *save = NULL;
	int r = 0;
	for (char *item = strtok_r(copy, ",", &save); item && r == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		uint64_t n = 1;
		if (eq) {
			*eq = 0;
			if (parse_u64(eq + 1, &n) < 0 || n > 1000000)
				r = gg_fail(GG_EUSAGE, "--fault-inject %s: bad count '%s'", spec,
				            eq + 1);
		}
		unsigned *slot = !strcmp(item, "429")           ? &f->status_429
		                 : !strcmp(item, "500")         ? &f->status_500
		                 : !strcmp(item, "503")         ? &f->status_503
		                 : !strcmp(item, "retry-after") ? &f->retry_after
		                 : !strcmp(item, "hang")        ? &f->hang
		                 : !strcmp(item, "drop")        ? &f->drop
		                 : !strcmp(item, "die")         ? &f->die
		                 : !strcmp(item, "slow")        ? &f->slow_ms
		                 : !strcmp(item, "corrupt")     ? &f->corrupt
		                 : !strcmp(item, "other-thunk") ? &f->other_thunk
		                 : !strcmp(item, "drop-reply")  ? &f->drop_reply
		                                                : NULL;
		if (!slot && r == 0)
			r = gg_fail(
			    GG_EUSAGE,
			    "--fault-inject: unknown fault '%s' (429, 500, 503, retry-after, hang, "
			    "drop, die, slow, corrupt, other-thunk, drop-reply)",
			    item);
		if (r == 0)
			*slot = (unsigned)n;
	}
	free(copy);
	return r;
}

/* ---- --once: a request file in, a response file out ---- */

static int run_once(struct worker *w, const char *req_path, const char *resp_path)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	if (read_file(req_path, &in, WIRE_MAX_REQUEST) < 0)
		return report_last();
	int status;
	worker_handle(w, in.data, in.len, &out, &status, NULL);
	buf_free(&in);
	int rc = 0;
	if (status != 200) {
		rc = report_error("%s: %.*s", req_path, (int)out.len, out.data);
	} else if (write_file_atomic(resp_path, out.data, out.len, 0644) < 0) {
		rc = report_last();
	}
	buf_free(&out);
	return rc;
}

/* ---- the AWS Lambda Runtime API loop ---- */

struct invocation {
	struct buf body;
	char request_id[128];
	uint64_t deadline_ms; /* Lambda-Runtime-Deadline-Ms (Unix time), 0 = none */
	bool bad_id;          /* a Lambda-Runtime-Aws-Request-Id we cannot answer */
	size_t limit;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct invocation *inv = arg;
	if (inv->body.len + size * n > inv->limit) {
		inv->too_big = true;
		return 0;
	}
	buf_add(&inv->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct invocation *inv = arg;
	static const char name[] = "Lambda-Runtime-Aws-Request-Id:";
	static const char dl[] = "Lambda-Runtime-Deadline-Ms:";
	size_t len = size * n, k = sizeof name - 1;
	if (len > sizeof dl - 1 && len < sizeof dl + 40 && !strncasecmp(p, dl, sizeof dl - 1)) {
		char v[48];
		size_t m = len - (sizeof dl - 1);
		memcpy(v, p + sizeof dl - 1, m);
		v[m] = 0;
		char *s = v, *e = v + m;
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			*--e = 0;
		uint64_t ms;
		if (parse_u64(s, &ms) == 0)
			inv->deadline_ms = ms;
	}
	if (len > k && !strncasecmp(p, name, k)) {
		const char *v = p + k, *e = p + len;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			e--;
		/* It goes into the reply's URL as it is, or not at all: an id
		 * changed to fit could name another invocation. */
		size_t m = (size_t)(e - v);
		bool ok = m > 0 && m < sizeof inv->request_id;
		for (size_t i = 0; ok && i < m; i++)
			ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
			     (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '_';
		inv->bad_id = !ok;
		if (ok)
			memcpy(inv->request_id, v, m);
		inv->request_id[ok ? m : 0] = 0;
	}
	return len;
}

/* c with no option of the last call left (curl_easy_reset clears them all)
 * but the common ones, set again: the CA bundle, the connect timeout. */
static void reset(CURL *c, long connect_ms)
{
	curl_easy_reset(c);
	gg_curl_apply(c, connect_ms);
}

static int post(CURL *c, long connect_ms, const char *url, const char *body, size_t len,
                const char *extra_header)
{
	struct invocation sink = {.limit = 1 << 20};
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (extra_header)
		h = curl_slist_append(h, extra_header);
	reset(c, connect_ms);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	buf_free(&sink.body);
	if (rc != CURLE_OK)
		return gg_error("POST %s: %s", url, curl_easy_strerror(rc));
	if (status / 100 != 2)
		return gg_error("POST %s: HTTP %ld", url, status);
	return 0;
}

/* The invocation's deadline (Unix ms) as the now_ns() time at which its thunk
 * must stop: LAMBDA_DEADLINE_MARGIN_MS earlier. 0 for none. Lambda never hands
 * out an invocation that is already due: a deadline in the past is not one
 * (emulators such as @vercel/fun send a constant 5000) and is ignored, said
 * once. */
static uint64_t deadline_to_ns(uint64_t deadline_ms)
{
	static bool told;
	if (!deadline_ms)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (deadline_ms <= now_ms) {
		if (!told)
			fprintf(
			    stderr,
			    "gg worker: Lambda-Runtime-Deadline-Ms %llu is %llu s in the past: not "
			    "a deadline (an emulator?); thunks run to their own timeouts\n",
			    (unsigned long long)deadline_ms,
			    (unsigned long long)((now_ms - deadline_ms) / 1000u));
		told = true;
		return 0;
	}
	uint64_t left = deadline_ms > now_ms + LAMBDA_DEADLINE_MARGIN_MS
	                    ? deadline_ms - now_ms - LAMBDA_DEADLINE_MARGIN_MS
	                    : 0;
	/* 1 ns: "already due" (0 would mean no deadline) */
	return now_ns() + (left ? left * 1000000u : 1);
}

static int run_lambda(struct worker *w, const char *api)
{
	/* Without namespaces (as on Lambda) what a thunk detaches stays ours, to
	 * be ended before anything else happens (see the loop) */
	if (sandbox_adopt_leftovers() < 0)
		return report_last();
	long connect_ms;
	CURL *c = gg_curl_connect_timeout_ms(&connect_ms) < 0 ? NULL : gg_curl_easy(connect_ms);
	if (!c)
		return report_last();
	char *next = xasprintf("http://%s/2018-06-01/runtime/invocation/next", api);
	int failures = 0, rc = 0;
	for (;;) {
		struct invocation inv = {.limit = WIRE_MAX_REQUEST};
		reset(c, connect_ms);
		curl_easy_setopt(c, CURLOPT_URL, next);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &inv);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &inv);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		CURLcode e = curl_easy_perform(c);
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (e == CURLE_OK && status == 200 && inv.bad_id) {
			/* no reply can be addressed to it: Lambda times it out */
			fprintf(stderr,
			        "gg worker: an invocation whose Lambda-Runtime-Aws-Request-Id is "
			        "not a request id (letters, digits, '-', '_'): not answered\n");
			buf_free(&inv.body);
			continue;
		}
		if (e != CURLE_OK || status != 200 || !inv.request_id[0]) {
			buf_free(&inv.body);
			/* the Runtime API went away: the instance is being shut down */
			if (++failures >= 10) {
				gg_fail(GG_EREMOTE, "Lambda Runtime API at %s: %s", api,
				        e != CURLE_OK ? curl_easy_strerror(e) : "no invocation");
				rc = report_last();
				break;
			}
			sleep(1);
			continue;
		}
		failures = 0;
		w->deadline_ns = deadline_to_ns(inv.deadline_ms);
		struct buf out = BUF_INIT;
		int st = 400;
		char *url;
		const char *hdr = NULL;
		if (inv.too_big) {
			buf_printf(&out,
			           "{\"errorMessage\":\"request larger than %u "
			           "bytes\",\"errorType\":\"gg.BadRequest\"}",
			           WIRE_MAX_REQUEST);
		} else {
			worker_handle(w, inv.body.data ? inv.body.data : "", inv.body.len, &out,
			              &st, NULL);
		}
		/* Nothing the thunk left may live on to answer this invocation or the
		 * next one (it could reach the Runtime API as we do): end it all
		 * before the reply, and never serve with it alive. */
		int left = sandbox_kill_leftovers(5000);
		if (left < 0) {
			rc = report_error("%s; exiting so that Lambda starts a fresh instance",
			                  gg_last_error());
			buf_free(&out);
			buf_free(&inv.body);
			break;
		}
		if (left > 0 && w->verbose)
			fprintf(stderr, "gg worker: ended %d processes the thunk left running\n",
			        left);
		if (st == 200) {
			url = xasprintf("http://%s/2018-06-01/runtime/invocation/%s/response", api,
			                inv.request_id);
		} else {
			/* not a request we understand: a "Handled" function error */
			url = xasprintf("http://%s/2018-06-01/runtime/invocation/%s/error", api,
			                inv.request_id);
			hdr = "Lambda-Runtime-Function-Error-Type: gg.BadRequest";
			if (!inv.too_big) {
				struct buf e2 = BUF_INIT;
				buf_adds(&e2, "{\"errorType\":\"gg.BadRequest\",\"errorMessage\":");
				json_add_string(&e2, out.data, out.len);
				buf_addc(&e2, '}');
				buf_free(&out);
				out = e2;
			}
		}
		if (post(c, connect_ms, url, out.data, out.len, hdr) < 0)
			fprintf(stderr, "gg worker: %s\n", gg_last_error());
		free(url);
		buf_free(&out);
		buf_free(&inv.body);
	}
	free(next);
	curl_easy_cleanup(c);
	return rc;
}

static int open_worker_store(const char *dir, bool lambda, struct store **out)
{
	char *d = dir ? xstrdup(dir) : NULL;
	if (!d && getenv("GG_DIR") && *getenv("GG_DIR"))
		d = xstrdup(getenv("GG_DIR"));
	if (!d)
		d = lambda ? xstrdup("/tmp/gg") : xasprintf("/tmp/gg-worker-%d", (int)getuid());
	int r = store_create(d);
	if (r == 0)
		r = store_open(d, out);
	if (r < 0)
		gg_error("worker store %s: %s", d, gg_last_error());
	free(d);
	return r;
}

int cmd_worker(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, 0, 'l'},
	    {"once", no_argument, 0, 'o'},
	    {"dir", required_argument, 0, 'd'},
	    {"jobs", required_argument, 0, 'j'},
	    {"cache-size", required_argument, 0, 'c'},
	    {"no-sandbox", no_argument, 0, 'S'},
	    {"memory-limit", required_argument, 0, 'X'},
	    {"process-limit", required_argument, 0, 'N'},
	    {"default-timeout", required_argument, 0, 'O'},
	    {"port-file", required_argument, 0, 'p'},
	    {"max-connections", required_argument, 0, 'm'},
	    {"max-inflight", required_argument, 0, 'I'},
	    {"max-body", required_argument, 0, 'B'},
	    {"max-memory", required_argument, 0, 'M'},
	    {"read-timeout", required_argument, 0, 'R'},
	    {"idle-timeout", required_argument, 0, 'T'},
	    {"token-file", required_argument, 0, 'K'},
	    {"storage-allow", required_argument, 0, 'A'},
	    {"allow-unauthenticated", no_argument, 0, 'U'},
	    {"tls-cert", required_argument, 0, 'C'},
	    {"tls-key", required_argument, 0, 'Y'},
	    {"tls-client-ca", required_argument, 0, 'Q'},
	    {"verbose", no_argument, 0, 'v'},
	    {"fault-inject", required_argument, 0, 'f'},
	    {"fake-exec", no_argument, 0, 'F'},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	const char *listen_on = NULL, *dir = NULL, *port_file = NULL, *token_file = NULL;
	const char *tls_cert = NULL, *tls_key = NULL, *tls_client_ca = NULL;
	bool once = false, cache_set = false, allow_unauth = false;
	const char *allow[65]; /* 64 --storage-allow and GG_STORAGE */
	size_t nallow = 0;
	uint64_t max_conns = 512, max_inflight = 0, max_body = WIRE_MAX_REQUEST,
	         max_memory = 512u << 20, read_timeout = 60, idle_timeout = 60;
	struct worker w = {0};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	w.jobs = ncpu > 0 ? (int)ncpu : 1;
	/* getopt_long would take --token X as --token-file X: a secret on the command line */
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--tok", 5) && strcmp(argv[i], "--token-file") &&
		    strncmp(argv[i], "--token-file=", 13))
			return report_usage(
			    "worker: %s: tokens never go on the command line (every local "
			    "user can read it): use --token-file FILE or GG_WORKER_TOKENS",
			    argv[i]);
	/* The limits of every thunk run here, as gg force's: flags win over the
	 * environment (and the configuration file). */
	if (exec_limits_from_env(&w.exec.limits) < 0)
		return report_last();
	int c;
	/* Its own getopt loop, not read_options: more options than that takes.
	 * optind 0, not 1: getopt starts afresh (see read_options). */
	optind = 0;
	while ((c = getopt_long(argc, argv, "j:vh", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 'l': listen_on = optarg; break;
		case 'o': once = true; break;
		case 'd': dir = optarg; break;
		case 'j':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 10000)
				return report_usage("-j %s: expected a number from 1 to 10000",
				                    optarg);
			w.jobs = (int)v;
			break;
		case 'c':
			if (parse_size(optarg, &w.cache_size) < 0)
				return report_usage(
				    "--cache-size %s: expected a size such as 500M or 2G", optarg);
			cache_set = true;
			break;
		case 'S': w.exec.no_isolation = true; break;
		case 'X':
			if (exec_limit_parse("memory", "--memory-limit", optarg,
			                     &w.exec.limits.memory) < 0)
				return report_last();
			break;
		case 'N':
			if (exec_limit_parse("process", "--process-limit", optarg,
			                     &w.exec.limits.procs) < 0)
				return report_last();
			break;
		case 'O':
			if (exec_limit_parse("timeout", "--default-timeout", optarg,
			                     &w.exec.limits.timeout_ms) < 0)
				return report_last();
			break;
		case 'p': port_file = optarg; break;
		case 'm':
			if (parse_u64(optarg, &max_conns) < 0 || max_conns == 0 ||
			    max_conns > 1000000)
				return report_usage(
				    "--max-connections %s: expected a positive number", optarg);
			break;
		case 'I':
			if (parse_u64(optarg, &max_inflight) < 0 || max_inflight == 0 ||
			    max_inflight > 1000000)
				return report_usage("--max-inflight %s: expected a positive number",
				                    optarg);
			break;
		case 'B':
			if (parse_size(optarg, &max_body) < 0 || max_body == 0 ||
			    max_body > WIRE_MAX_REQUEST)
				return report_usage(
				    "--max-body %s: expected a size from 1 to %uM (e.g. 16M)",
				    optarg, WIRE_MAX_REQUEST >> 20);
			break;
		case 'M':
			if (parse_size(optarg, &max_memory) < 0 || max_memory == 0)
				return report_usage(
				    "--max-memory %s: expected a size such as 512M or 2G", optarg);
			break;
		case 'R':
		case 'T':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 86400)
				return report_usage("--%s %s: expected seconds from 1 to 86400",
				                    c == 'R' ? "read-timeout" : "idle-timeout",
				                    optarg);
			*(c == 'R' ? &read_timeout : &idle_timeout) = v;
			break;
		case 'K': token_file = optarg; break;
		case 'A':
			if (!strstr(optarg, "://"))
				return report_usage(
				    "--storage-allow %s: expected a storage URI (s3://, "
				    "redis://, file://; see gg-storage(7))",
				    optarg);
			if (nallow == 64)
				return report_usage("--storage-allow: at most 64");
			allow[nallow++] = optarg;
			break;
		case 'U': allow_unauth = true; break;
		case 'C': tls_cert = optarg; break;
		case 'Y': tls_key = optarg; break;
		case 'Q': tls_client_ca = optarg; break;
		case 'v': w.verbose = true; break;
		case 'f':
			if (parse_faults(optarg, &w.faults) < 0)
				return report_last();
			break;
		case 'F': w.fake_exec = true; break;
		case 'h': fputs(worker_help, stdout); return 0;
		default: fputs(worker_help, stderr); return 2;
		}
	}
	const char *api_env = getenv("AWS_LAMBDA_RUNTIME_API");
	bool lambda = !listen_on && !once && api_env && *api_env;
	/* the environment loses its secrets (env_scrub_secrets), this among them */
	char api[256] = "";
	if (lambda && strlen(api_env) >= sizeof api)
		return report_error("worker: AWS_LAMBDA_RUNTIME_API is too long (%zu bytes)",
		                    strlen(api_env));
	if (lambda)
		strcpy(api, api_env);
	/* Thunks run as our user there (no namespaces): no /proc/PID/environ,
	 * /proc/PID/mem or ptrace of this process for them, nor core dumps. */
	if (lambda && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return report_error("worker: prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	if (once && argc - optind != 2)
		return report_usage("worker --once needs REQUEST_FILE and RESPONSE_FILE");
	if (!once && optind != argc)
		return report_usage("worker: unexpected argument '%s'", argv[optind]);
	if (!listen_on && !once && !lambda) {
		fputs(worker_help, stderr);
		return report_usage(
		    "worker: give --listen ADDR:PORT or --once, or run under AWS Lambda");
	}
	if (listen_on && once)
		return report_usage("worker: --listen and --once exclude each other");
	if (max_memory < max_body)
		return report_usage(
		    "worker: --max-memory (%llu bytes) is smaller than --max-body (%llu "
		    "bytes): no request of the largest size could ever be admitted",
		    (unsigned long long)max_memory, (unsigned long long)max_body);
	if (!cache_set)
		w.cache_size = lambda ? (400ull << 20) : (2ull << 30);
	if (lambda || once)
		w.jobs = 1;
	const char *own = getenv("GG_STORAGE");
	if (own && *own)
		allow[nallow++] = own;
	if (!nallow)
		return report_usage(
		    "worker: no storage to allow requests: set GG_STORAGE=URI (the "
		    "worker's storage) or give --storage-allow URI; a request may name "
		    "only these");
	struct strvec tokens = {0};
	const char *env_tokens = getenv("GG_WORKER_TOKENS");
	if (listen_on &&
	    worker_tokens_load(token_file, env_tokens && *env_tokens ? env_tokens : NULL, &tokens) <
	        0) {
		strvec_free(&tokens);
		return report_last();
	}
	if (!listen_on && token_file)
		return report_usage("worker: --token-file is for --listen");
	if ((tls_cert || tls_key || tls_client_ca) && !listen_on)
		return report_usage(
		    "worker: --tls-cert, --tls-key and --tls-client-ca are for --listen");
	if (!tls_cert != !tls_key || (tls_client_ca && !tls_cert))
		return report_usage("worker: TLS needs both --tls-cert and --tls-key (and "
		                    "--tls-client-ca only with them)");
	struct worker_tls *tls = NULL;
	if (tls_cert && worker_tls_create(tls_cert, tls_key, tls_client_ca, &tls) < 0) {
		strvec_free(&tokens);
		return report_last();
	}
	struct store *s;
	if (open_worker_store(dir, lambda, &s) < 0) {
		strvec_free(&tokens);
		worker_tls_free(tls);
		return report_last();
	}
	for (size_t i = 0; i < nallow; i++)
		strvec_push(&w.storage_allow, allow[i]);
	if (worker_init(&w, s) < 0) {
		store_close(s);
		worker_tls_free(tls);
		strvec_free(&tokens);
		strvec_free(&w.storage_allow);
		return report_last();
	}
	int rc;
	if (once)
		rc = run_once(&w, argv[optind], argv[optind + 1]);
	else if (listen_on) {
		if (!max_inflight)
			max_inflight = w.jobs * 16 < 256 ? 256 : (uint64_t)w.jobs * 16;
		struct worker_http_opts ho = {
		    .listen = listen_on,
		    .port_file = port_file,
		    .max_conns = (int)max_conns,
		    .max_inflight = (int)(max_inflight < 1000000 ? max_inflight : 1000000),
		    .max_body = max_body,
		    .max_memory = max_memory,
		    .read_timeout_s = (unsigned)read_timeout,
		    .idle_timeout_s = (unsigned)idle_timeout,
		    .tokens = &tokens,
		    .allow_unauthenticated = allow_unauth,
		    .tls = tls,
		    .client_certs = tls_client_ca != NULL,
		};
		rc = worker_http_serve(&w, &ho) < 0 ? report_last() : 0;
	} else {
		/* the storage first: its credentials come from the environment */
		worker_open_storage(&w);
		size_t n = env_scrub_secrets();
		if (w.verbose)
			fprintf(
			    stderr,
			    "gg worker: Lambda runtime at %s; %zu secret variables removed from "
			    "the environment\n",
			    api, n);
		rc = run_lambda(&w, api);
	}
	worker_fini(&w);
	store_close(s);
	worker_tls_free(tls);
	strvec_free(&tokens);
	strvec_free(&w.storage_allow);
	return rc;
}
