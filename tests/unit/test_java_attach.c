/* Unit tests of the JVM attach client against a stand-in JVM in this process: the trigger file
 * it waits for, SIGQUIT, the socket, the exact request bytes and the reply code; no signal to a
 * process that does not catch SIGQUIT; the per-JVM backoff between requests. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proc/java_attach.h"
#include "test.h"

static volatile sig_atomic_t quits;

static void on_quit(int sig)
{
	(void)sig;
	quits++;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* What the stand-in JVM saw. */
struct fake_jvm {
	pthread_t thread;
	atomic_bool done;
	bool trigger_seen; /* .attach_pid<PID> was there, ours, when SIGQUIT came */
	char req[128];
	size_t req_len;
	const char *reply;
};

/* HotSpot's side: on SIGQUIT with the trigger file present, listen on /tmp/.java_pid<PID>, read
 * one request (five NUL-terminated strings), answer, close. */
static void *fake_jvm_run(void *arg)
{
	struct fake_jvm *j = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char trig[64];
	struct stat st;
	int ls = -1, c = -1, nuls = 0;

	snprintf(trig, sizeof(trig), "/tmp/.attach_pid%d", getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/.java_pid%d", getpid());
	for (int i = 0; i < 500 && !quits; i++)
		sleep_ms(10);
	if (!quits)
		goto out;
	j->trigger_seen = !lstat(trig, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid();
	unlink(sa.sun_path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		goto out;
	{
		struct pollfd p = { ls, POLLIN, 0 };

		if (poll(&p, 1, 5000) != 1)
			goto out;
	}
	c = accept(ls, NULL, NULL);
	while (c >= 0 && nuls < 5 && j->req_len < sizeof(j->req)) {
		ssize_t n = read(c, j->req + j->req_len, 1);

		if (n <= 0)
			break;
		nuls += !j->req[j->req_len++];
	}
	if (c >= 0 && write(c, j->reply, strlen(j->reply)) < 0)
		goto out;
out:
	if (c >= 0)
		close(c);
	if (ls >= 0)
		close(ls);
	unlink(sa.sun_path);
	atomic_store(&j->done, true);
	return NULL;
}

static void wait_stats(struct java_attach *ja, struct java_attach_stats *st, uint64_t want_done)
{
	for (int i = 0; i < 800; i++) {
		java_attach__stats(ja, st);
		if (st->written + st->failed >= want_done)
			return;
		sleep_ms(10);
	}
}

static void test_protocol(void)
{
	static const char want[] = "1\0jcmd\0Compiler.perfmap\0\0";
	struct java_attach_opts o = { .timeout_ns = 3000000000ull };
	struct fake_jvm j = { .reply = "0\n" };
	struct java_attach_stats st;
	struct java_attach *ja;
	char trig[64];
	struct sigaction sa = { .sa_handler = on_quit };

	snprintf(trig, sizeof(trig), "/tmp/.attach_pid%d", getpid());
	CHECK(sigaction(SIGQUIT, &sa, NULL) == 0);
	quits = 0;
	CHECK(pthread_create(&j.thread, NULL, fake_jvm_run, &j) == 0);
	ja = java_attach__new(&o);
	CHECK(ja != NULL);
	if (!ja)
		return;
	CHECK(!java_attach__rewritten(ja, getpid()));
	java_attach__request(ja, getpid(), getpid());
	wait_stats(ja, &st, 1);
	pthread_join(j.thread, NULL);
	CHECK_U64(st.requests, 1);
	CHECK_U64(st.written, 1);
	CHECK_U64(st.failed, 0);
	CHECK_INT(quits, 1);
	CHECK(j.trigger_seen);
	CHECK_INT(j.req_len, sizeof(want));
	CHECK(j.req_len == sizeof(want) && !memcmp(j.req, want, sizeof(want)));
	CHECK(access(trig, F_OK) != 0); /* removed again */
	CHECK(java_attach__rewritten(ja, getpid()));
	CHECK(!java_attach__rewritten(ja, getpid())); /* once */
	java_attach__free(ja);
}

/* An error code from the JVM (an unknown command on an older JVM) is a failure, not a map. */
static void test_error_reply(void)
{
	struct java_attach_opts o = { .timeout_ns = 3000000000ull };
	struct fake_jvm j = { .reply = "101\nUnknown diagnostic command\n" };
	struct java_attach_stats st;
	struct java_attach *ja;
	struct sigaction sa = { .sa_handler = on_quit };

	CHECK(sigaction(SIGQUIT, &sa, NULL) == 0);
	quits = 0;
	CHECK(pthread_create(&j.thread, NULL, fake_jvm_run, &j) == 0);
	ja = java_attach__new(&o);
	if (!ja)
		return;
	java_attach__request(ja, getpid(), getpid());
	wait_stats(ja, &st, 1);
	pthread_join(j.thread, NULL);
	CHECK_U64(st.written, 0);
	CHECK_U64(st.failed, 1);
	CHECK(!java_attach__rewritten(ja, getpid()));
	java_attach__free(ja);
}

/* A process that does not catch SIGQUIT (default action: die) is never sent it, and no file is
 * made for it. The test process would die if it were. */
static void test_no_handler_no_signal(void)
{
	struct java_attach_stats st;
	struct java_attach *ja;
	struct sigaction sa = { .sa_handler = SIG_DFL };
	char trig[64];

	snprintf(trig, sizeof(trig), "/tmp/.attach_pid%d", getpid());
	CHECK(sigaction(SIGQUIT, &sa, NULL) == 0);
	ja = java_attach__new(NULL);
	if (!ja)
		return;
	java_attach__request(ja, getpid(), getpid());
	wait_stats(ja, &st, 1);
	CHECK_U64(st.failed, 1);
	CHECK(access(trig, F_OK) != 0);
	java_attach__free(ja);
}

/* One JVM is asked again only after its interval, which doubles each time up to the maximum. */
static void test_backoff(void)
{
	/* wide margins: a loaded machine can hold a thread back for a tenth of a second */
	struct java_attach_opts o = { .min_interval_ns = 300000000ull,
				      .max_interval_ns = 600000000ull };
	struct java_attach_stats st;
	struct java_attach *ja = java_attach__new(&o);
	int gone = 0x3ffffff0; /* no such process: each request fails fast */

	CHECK(ja != NULL);
	if (!ja)
		return;
	java_attach__request(ja, gone, gone);
	java_attach__request(ja, gone, gone); /* too soon */
	java_attach__stats(ja, &st);
	CHECK_U64(st.requests, 1);
	sleep_ms(350); /* past 300 ms */
	java_attach__request(ja, gone, gone);
	java_attach__stats(ja, &st);
	CHECK_U64(st.requests, 2);
	sleep_ms(350); /* the interval is 600 ms now */
	java_attach__request(ja, gone, gone);
	java_attach__stats(ja, &st);
	CHECK_U64(st.requests, 2);
	sleep_ms(300);
	java_attach__request(ja, gone, gone);
	java_attach__request(ja, gone + 1, gone + 1); /* another JVM: its own interval */
	java_attach__stats(ja, &st);
	CHECK_U64(st.requests, 4);
	wait_stats(ja, &st, 4);
	CHECK_U64(st.failed, 4);
	java_attach__free(ja);
}

int main(void)
{
	RUN_TEST(test_protocol);
	RUN_TEST(test_error_reply);
	RUN_TEST(test_no_handler_no_signal);
	RUN_TEST(test_backoff);
	return TEST_SUMMARY();
}
