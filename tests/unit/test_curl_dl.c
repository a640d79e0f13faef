/**
 * @file test_curl_dl.c
 * Specification of the libcurl loader (backend/curl_dl.c) and the common
 * settings of every easy handle (backend/curl_setup.c), with the real
 * libcurl.so.4 of this machine and real transfers to sockets this test opens
 * on 127.0.0.1.
 *  - gg_curl_load() loads libcurl only when called (a process that never
 *    calls it has no libcurl) and sets every pointer of the table to the
 *    library's own function; a second call and eight threads calling at once
 *    load it once (one reference to the library, the table never rewritten).
 *  - When libcurl.so.4 cannot be loaded the call fails naming the soname and
 *    dlopen's reason, and every later call says the same even once the
 *    library is back (not retried); a library without curl's functions
 *    leaves the table empty. The soname is fixed (GG_CURL_SONAME; no
 *    variable or parameter chooses it), so these run in a child that hides
 *    the real file under a bind mount in a mount namespace of its own.
 *  - $GG_CONNECT_TIMEOUT: 1 to 600 seconds, 5 when unset or empty; any
 *    other value is a GG_EUSAGE error naming it and the range, with the
 *    default in *ms.
 *  - gg_curl_easy() applies the connect timeout (a connection that is not
 *    taken fails after it, not curl's 300 s) and, again after
 *    curl_easy_reset, gg_curl_apply(); the CA bundle is $CURL_CA_BUNDLE,
 *    else $SSL_CERT_FILE, an empty one counting as unset, else curl's own.
 */
#include "backend/curl_setup.h"
#include "core/error.h"
#include "dl_fixture.h"

#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define SONAME "libcurl.so.4"

static bool table_empty(void)
{
	bool empty = true;
#define EMPTY(f) empty = empty && !gg_curl.f;
	GG_CURL_FUNCTIONS(EMPTY)
#undef EMPTY
	return empty;
}

/* Every pointer is the function of that name in the loaded libcurl. */
static void check_table_is_libcurls(void)
{
	void *h = dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD);
	CHECK(h);
	if (!h)
		return;
#define SAME(f)                                                                                    \
	if (!gg_curl.f || (void *)gg_curl.f != dlsym(h, "curl_" #f)) {                             \
		fprintf(stderr, "curl_%s not set to libcurl's\n", #f);                             \
		CHECK(!"every pointer set to libcurl's function");                                 \
	}
	GG_CURL_FUNCTIONS(SAME)
#undef SAME
	dlclose(h);
}

/* How many references the process holds to libcurl (dropping them all:
 * only for a child about to exit). -1 if it does not unload. */
static int drop_references(void)
{
	for (int n = 0; n < 64; n++) {
		void *h = dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD);
		if (!h)
			return n;
		dlclose(h); /* this one */
		dlclose(h); /* one held before */
	}
	return -1;
}

static void load_once_in_fresh_process(void)
{
	CHECK(!dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD)); /* not loaded at start */
	CHECK(table_empty());
	CHECK(gg_curl_load() == 0);
	check_table_is_libcurls();
	struct gg_curl_api first = gg_curl;
	CHECK(gg_curl_load() == 0);
	CHECK(!memcmp(&first, &gg_curl, sizeof first));
	/* a second call does not load again: it does not rewrite the table */
	gg_curl.slist_free_all = NULL;
	CHECK(gg_curl_load() == 0);
	CHECK(gg_curl.slist_free_all == NULL);
	gg_curl = first;
	CHECK(drop_references() == 1);
}

static void test_load_is_lazy_sets_every_function_and_happens_once(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_once_in_fresh_process));
}

static void load_from_threads(void)
{
	dl_fixture_load_from_threads(gg_curl_load, &gg_curl, sizeof gg_curl);
	check_table_is_libcurls();
	CHECK(drop_references() == 1);
}

static void test_threads_loading_at_once_all_succeed_and_load_once(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_from_threads));
}

static void load_without_libcurl(void)
{
	char *real = dl_fixture_hide(SONAME, "/dev/null");
	CHECK_ERR(gg_curl_load(), "cannot load libcurl (" SONAME "): ");
	char *first = xstrdup(gg_last_error());
	CHECK(strstr(first, SONAME "): ") && strlen(strstr(first, "): ")) > 3); /* why */
	CHECK(gg_last_code() == GG_EFAIL);
	CHECK(table_empty());
	/* gg_curl_easy says the same */
	gg_error("something else");
	CHECK(gg_curl_easy(5000) == NULL);
	CHECK_STR(gg_last_error(), first);
	/* the library back: still the same failure, not a second try */
	CHECK(real && umount(real) == 0);
	CHECK(!dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD));
	CHECK(gg_curl_load() < 0);
	CHECK_STR(gg_last_error(), first);
	CHECK(table_empty());
	CHECK(!dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD));
	free(first);
	free(real);
}

static void test_a_missing_libcurl_is_an_error_every_call_repeats(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_without_libcurl));
}

static void load_a_library_without_curl(void)
{
	char *z = realpath("/lib/x86_64-linux-gnu/libz.so.1", NULL);
	CHECK(z);
	char *real = dl_fixture_hide(SONAME, z ? z : "/dev/null");
	/* the first function looked up is missing: dlerror names it */
	CHECK_ERR(gg_curl_load(), "cannot load libcurl (" SONAME "): ");
	CHECK(strstr(gg_last_error(), "curl_global_init"));
	CHECK(table_empty());
	free(real);
	free(z);
}

static void test_a_library_without_curls_functions_leaves_the_table_empty(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_a_library_without_curl));
}

/* ---- $GG_CONNECT_TIMEOUT ---- */

static void test_connect_timeout_defaults_to_5_seconds(void)
{
	long ms = -1;
	unsetenv("GG_CONNECT_TIMEOUT");
	CHECK(gg_curl_connect_timeout_ms(&ms) == 0 && ms == 5000);
	setenv("GG_CONNECT_TIMEOUT", "", 1);
	ms = -1;
	CHECK(gg_curl_connect_timeout_ms(&ms) == 0 && ms == 5000);
	unsetenv("GG_CONNECT_TIMEOUT");
}

static void test_connect_timeout_takes_1_to_600_seconds(void)
{
	const struct {
		const char *v;
		long ms;
	} ok[] = {{"1", 1000},     {"2", 2000},     {"30", 30000},
	          {"599", 599000}, {"600", 600000}, {"007", 7000}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		long ms = -1;
		setenv("GG_CONNECT_TIMEOUT", ok[i].v, 1);
		CHECK(gg_curl_connect_timeout_ms(&ms) == 0);
		if (ms != ok[i].ms)
			fprintf(stderr, "GG_CONNECT_TIMEOUT=%s: %ld ms\n", ok[i].v, ms);
		CHECK(ms == ok[i].ms);
	}
	unsetenv("GG_CONNECT_TIMEOUT");
}

static void test_a_bad_connect_timeout_is_a_usage_error_naming_it(void)
{
	const char *bad[] = {"0",
	                     "601",
	                     "-1",
	                     "5s",
	                     " 5",
	                     "5 ",
	                     "1.5",
	                     "+5",
	                     "0x10",
	                     "1e3",
	                     "abc",
	                     "600\n",
	                     "1000000",
	                     "18446744073709551615",
	                     "18446744073709551616"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long ms = -1;
		setenv("GG_CONNECT_TIMEOUT", bad[i], 1);
		char *want = xasprintf(
		    "GG_CONNECT_TIMEOUT=%s: expected a whole number from 1 to 600", bad[i]);
		CHECK_ERR(gg_curl_connect_timeout_ms(&ms), want);
		CHECK(gg_last_code() == GG_EUSAGE);
		CHECK(ms == 5000); /* the default, for a caller that goes on */
		free(want);
	}
	unsetenv("GG_CONNECT_TIMEOUT");
}

/* ---- the settings of a handle ---- */

static int listen_loopback(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	      listen(fd, backlog) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static uint64_t ms_since(struct timespec t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
}

/* A transfer to a listener whose queue is full (the kernel drops the SYN,
 * to be sent again after a second): CURLE_OPERATION_TIMEDOUT, and how long
 * it took. The test's own 4 s limit ends it if no connect timeout was set;
 * the checks' upper bound (3.5 s) only tells the two apart, so a loaded
 * machine does not fail them. */
static CURLcode connect_stalled(CURL *c, const char *url, uint64_t *took)
{
	struct timespec t0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 4000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CURLcode rc = curl_easy_perform(c);
	*took = ms_since(t0);
	return rc;
}

static void test_a_handle_gives_up_a_connection_after_the_connect_timeout(void)
{
	int port, fill[4];
	int lfd = listen_loopback(0, &port);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	/* fill the accept queue: later connections are not taken */
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof a);
	}
	struct timespec pause = {0, 50000000};
	nanosleep(&pause, NULL);
	char *url = xasprintf("http://127.0.0.1:%d/", port);

	CURL *c = gg_curl_easy(300);
	CHECK(c);
	if (c) {
		uint64_t took;
		CURLcode rc = connect_stalled(c, url, &took);
		if (rc != CURLE_OPERATION_TIMEDOUT || took < 250 || took > 3500)
			fprintf(stderr, "connect: %d (%s) after %llu ms\n", (int)rc,
			        curl_easy_strerror(rc), (unsigned long long)took);
		CHECK(rc == CURLE_OPERATION_TIMEDOUT);
		CHECK(took >= 250 && took <= 3500);
		/* after a reset, curl's own settings; gg_curl_apply sets them again */
		curl_easy_reset(c);
		gg_curl_apply(c, 600);
		rc = connect_stalled(c, url, &took);
		if (rc != CURLE_OPERATION_TIMEDOUT || took < 550 || took > 3500)
			fprintf(stderr, "connect after apply: %d after %llu ms\n", (int)rc,
			        (unsigned long long)took);
		CHECK(rc == CURLE_OPERATION_TIMEDOUT);
		CHECK(took >= 550 && took <= 3500);
		curl_easy_cleanup(c);
	}
	free(url);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

/* A server that takes each connection and closes it (no TLS of its own):
 * a handshake gets past loading the CA bundle, then fails. */
static void *close_each(void *arg)
{
	int lfd = (int)(intptr_t)arg, c;
	while ((c = accept(lfd, NULL, NULL)) >= 0)
		close(c);
	return NULL;
}

static int tls_port;

/* An https transfer to it with the common settings: the code, and curl's
 * message in *err. */
static CURLcode tls_try(char *err)
{
	CURL *c = gg_curl_easy(2000);
	CHECK(c);
	if (!c)
		return CURLE_FAILED_INIT;
	char *url = xasprintf("https://127.0.0.1:%d/", tls_port);
	err[0] = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 4000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	free(url);
	return rc;
}

/* The transfer fails for the CA bundle `path` (which does not exist). */
static void check_ca(const char *bundle, const char *cert_file, const char *path)
{
	char err[CURL_ERROR_SIZE];
	bundle ? setenv("CURL_CA_BUNDLE", bundle, 1) : unsetenv("CURL_CA_BUNDLE");
	cert_file ? setenv("SSL_CERT_FILE", cert_file, 1) : unsetenv("SSL_CERT_FILE");
	CURLcode rc = tls_try(err);
	bool ok = path ? rc == CURLE_SSL_CACERT_BADFILE && strstr(err, path)
	               : rc != CURLE_SSL_CACERT_BADFILE && !strstr(err, "/nonexistent");
	if (!ok)
		fprintf(stderr, "CURL_CA_BUNDLE=%s SSL_CERT_FILE=%s: %d %s (wanted %s)\n",
		        bundle ? bundle : "(unset)", cert_file ? cert_file : "(unset)", (int)rc,
		        err, path ? path : "curl's own bundle");
	CHECK(ok);
}

static void test_the_ca_bundle_comes_from_the_environment(void)
{
	int lfd = listen_loopback(8, &tls_port);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, close_each, (void *)(intptr_t)lfd) == 0);
	const char *a = "/nonexistent/gg-test-a.pem", *b = "/nonexistent/gg-test-b.pem";
	check_ca(a, NULL, a);
	check_ca(NULL, b, b);
	check_ca("", b, b);
	check_ca(a, b, a);
	check_ca(a, "", a);
	check_ca(NULL, NULL, NULL);
	check_ca("", "", NULL);
	unsetenv("CURL_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
	shutdown(lfd, SHUT_RDWR); /* ends accept() */
	pthread_join(t, NULL);
	close(lfd);
}

TEST_MAIN(test_load_is_lazy_sets_every_function_and_happens_once,
          test_threads_loading_at_once_all_succeed_and_load_once,
          test_a_missing_libcurl_is_an_error_every_call_repeats,
          test_a_library_without_curls_functions_leaves_the_table_empty,
          test_connect_timeout_defaults_to_5_seconds, test_connect_timeout_takes_1_to_600_seconds,
          test_a_bad_connect_timeout_is_a_usage_error_naming_it,
          test_a_handle_gives_up_a_connection_after_the_connect_timeout,
          test_the_ca_bundle_comes_from_the_environment)
