/* SPDX-License-Identifier: BSD-2-Clause */
/* HotSpot's attach protocol, the way jcmd speaks it: a `.attach_pid<NSPID>` file in the JVM's
 * /tmp and SIGQUIT start its attach listener, which opens `/tmp/.java_pid<NSPID>`; one
 * connection carries "1\0jcmd\0Compiler.perfmap\0\0\0" and gets back a result code. Run on a
 * worker thread: a JVM can take seconds to answer, and the sample loop must not wait. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"
#include "proc/java_attach.h"

#define JA_SLOTS     64 /* JVMs whose request times are remembered */
#define JA_QUEUE     8
#define JA_POLL_NS   20000000ull
#define JA_REPLY_MAX 4096

struct ja_slot {
	int pid;
	bool rewritten;
	uint64_t last_ns, interval_ns;
};

struct ja_job {
	int pid, nspid;
};

struct java_attach {
	struct java_attach_opts o;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
	struct ja_job q[JA_QUEUE];
	size_t qhead, qn;
	struct ja_slot slots[JA_SLOTS];
	struct java_attach_stats st;
};

/* The effective uid and gid of pid (second fields of Uid: and Gid: in its status), and whether
 * it catches SIGQUIT (SigCgt): a JVM does once its signal handlers are in place, so a process
 * that does not (a JVM still starting, one run with -Xrs, anything else mapping a libjvm.so) is
 * never sent the signal, whose default action would kill it. */
static int proc_ids(int pid, uid_t *uid, gid_t *gid, bool *catches_quit)
{
	char path[64], buf[4096];
	unsigned long long mask;
	unsigned long r, e;
	const char *l;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	l = strstr(buf, "\nUid:");
	if (!l || sscanf(l + 5, "%lu %lu", &r, &e) != 2)
		return -EIO;
	*uid = (uid_t)e;
	l = strstr(buf, "\nGid:");
	if (!l || sscanf(l + 5, "%lu %lu", &r, &e) != 2)
		return -EIO;
	*gid = (gid_t)e;
	l = strstr(buf, "\nSigCgt:");
	if (!l || sscanf(l + 8, "%llx", &mask) != 1)
		return -EIO;
	*catches_quit = mask & (1ull << (SIGQUIT - 1));
	return 0;
}

/* The JVM's /tmp as it resolves it: absolute links stay inside its root, magic links refused. */
static int open_tmp(int pid)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[32];
	int rfd, fd, err;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, rfd, "/tmp", &how, sizeof(how));
	err = fd < 0 ? -errno : 0;
	if (fd < 0 && (err == -ENOSYS || err == -EPERM || err == -EINVAL)) {
		/* no openat2: at least never through a link at /tmp itself */
		fd = openat(rfd, "tmp", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		err = fd < 0 ? -errno : 0;
	}
	close(rfd);
	return fd < 0 ? err : fd;
}

/* Whether the JVM's attach socket is there: a socket (not a link) of the JVM's user. */
static bool socket_ready(int tmpfd, const char *name, uid_t uid)
{
	struct stat st;

	return !fstatat(tmpfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISSOCK(st.st_mode) &&
	       st.st_uid == uid;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/* Starts the JVM's attach listener: the trigger file, which HotSpot accepts only when owned by
 * its own user or root, then SIGQUIT; waits for the socket. The file is created new (never
 * through a link or over someone's file), given to the JVM's user, and removed again. */
static int start_listener(struct java_attach *ja, int pid, int nspid, int tmpfd, uid_t uid,
			  gid_t gid, const char *sock)
{
	char trig[32];
	struct stat mine, now;
	uint64_t deadline;
	int fd = -1, err = 0;

	snprintf(trig, sizeof(trig), ".attach_pid%d", nspid);
	fd = openat(tmpfd, trig, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600);
	if (fd < 0 && errno != EEXIST)
		return -errno;
	/* EEXIST: someone else (jcmd) is attaching; their file serves, and stays theirs */
	if (fd >= 0 && fstat(fd, &mine)) {
		err = -errno;
		close(fd);
		return err;
	}
	/* HotSpot accepts the file from its own user or root only */
	if (fd >= 0 && fchown(fd, uid, gid) && geteuid() != 0) {
		err = -errno;
		goto out;
	}
	if (kill(pid, SIGQUIT)) {
		err = -errno;
		goto out;
	}
	err = -ETIMEDOUT;
	deadline = monotonic_ns() + ja->o.timeout_ns;
	while (monotonic_ns() < deadline && !atomic_load(&ja->stop)) {
		if (socket_ready(tmpfd, sock, uid)) {
			err = 0;
			break;
		}
		sleep_ns(JA_POLL_NS);
	}
out:
	if (fd >= 0) {
		/* only the file made here, should something have replaced it meanwhile */
		if (!fstatat(tmpfd, trig, &now, AT_SYMLINK_NOFOLLOW) && now.st_ino == mine.st_ino &&
		    now.st_dev == mine.st_dev)
			unlinkat(tmpfd, trig, 0);
		close(fd);
	}
	return err;
}

/* One jcmd command over the attach socket; the JVM's result code, or -errno. */
static int send_command(struct java_attach *ja, int tmpfd, const char *sock, uid_t uid)
{
	static const char req[] = "1\0jcmd\0Compiler.perfmap\0\0"; /* and the literal's NUL */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { (time_t)(ja->o.timeout_ns / 1000000000ull),
			      (long)(ja->o.timeout_ns % 1000000000ull / 1000) };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char reply[JA_REPLY_MAX + 1];
	uint64_t deadline;
	size_t got = 0;
	int fd, err, code;

	/* through the fd of the JVM's /tmp: the path resolves where the socket was checked */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", tmpfd, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	/* the listener is the JVM's user's, not a socket someone else put there */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		err = -errno;
		goto out;
	}
	if (cred.uid != uid) {
		err = -EPERM;
		goto out;
	}
	err = fd_write_all(fd, req, sizeof(req));
	if (err)
		goto out;
	/* each read waits at most the timeout, and all of them together not much longer */
	deadline = monotonic_ns() + ja->o.timeout_ns;
	while (got < JA_REPLY_MAX) {
		ssize_t n;

		if (monotonic_ns() > deadline) {
			err = -ETIMEDOUT;
			goto out;
		}
		n = read(fd, reply + got, JA_REPLY_MAX - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	if (sscanf(reply, "%d", &code) != 1) {
		err = -EPROTO;
		goto out;
	}
	err = code;
	if (code)
		pr_debug("JVM attach: Compiler.perfmap answered %d: %.200s", code, reply);
out:
	close(fd);
	return err;
}

/* Whether the JVM's user may create files in the directory (owner, group or other write bit;
 * supplementary groups left out, so never more than the user could). */
static bool user_may_write(const struct stat *st, uid_t uid, gid_t gid)
{
	if (!S_ISDIR(st->st_mode))
		return false;
	if (uid == 0 || st->st_mode & S_IWOTH)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IWUSR;
	return st->st_gid == gid && st->st_mode & S_IWGRP;
}

/* This thread's file-system identity (Linux keeps it per thread): the JVM's user, so the kernel
 * checks the trigger file's creation and the socket's connect as that user would be checked, and
 * the file is that user's. Needs CAP_SETUID and CAP_SETGID; without them the explicit checks
 * stand alone. Returns whether it switched. */
static bool become_user(uid_t uid, gid_t gid)
{
	if (uid == 0)
		return false;
	setfsgid(gid);
	if ((gid_t)setfsgid((gid_t)-1) != gid)
		return false;
	setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid) {
		setfsgid(getegid());
		return false;
	}
	return true;
}

static void become_self(void)
{
	setfsuid(geteuid());
	setfsgid(getegid());
}

static int attach(struct java_attach *ja, int pid, int nspid)
{
	char sock[32];
	struct stat st;
	bool as_user, catches_quit;
	uid_t uid;
	gid_t gid;
	int tmpfd, err;

	err = proc_ids(pid, &uid, &gid, &catches_quit);
	if (err)
		return err;
	if (!catches_quit)
		return -EAGAIN;
	tmpfd = open_tmp(pid);
	if (tmpfd < 0)
		return tmpfd;
	/* never create a file where the JVM's user could not: a /tmp that is some other
	 * directory mounted there is left alone */
	if (fstat(tmpfd, &st)) {
		err = -errno;
		goto out;
	}
	if (!user_may_write(&st, uid, gid)) {
		err = -EACCES;
		goto out;
	}
	snprintf(sock, sizeof(sock), ".java_pid%d", nspid);
	as_user = become_user(uid, gid);
	if (!socket_ready(tmpfd, sock, uid)) {
		err = start_listener(ja, pid, nspid, tmpfd, uid, gid, sock);
		if (err)
			goto out_self;
	}
	err = send_command(ja, tmpfd, sock, uid);
	if (err > 0)
		err = -EPROTO;
out_self:
	if (as_user)
		become_self();
out:
	close(tmpfd);
	return err;
}

static struct ja_slot *slot_of(struct java_attach *ja, int pid, bool create)
{
	struct ja_slot *old = &ja->slots[0];

	for (size_t i = 0; i < JA_SLOTS; i++) {
		if (ja->slots[i].pid == pid)
			return &ja->slots[i];
		if (ja->slots[i].last_ns < old->last_ns)
			old = &ja->slots[i];
	}
	if (!create)
		return NULL;
	*old = (struct ja_slot){ .pid = pid };
	return old;
}

static void *worker(void *arg)
{
	struct java_attach *ja = arg;

	pthread_mutex_lock(&ja->mu);
	while (!atomic_load(&ja->stop)) {
		struct ja_job j;
		struct ja_slot *s;
		int err;

		if (!ja->qn) {
			pthread_cond_wait(&ja->cv, &ja->mu);
			continue;
		}
		j = ja->q[ja->qhead];
		ja->qhead = (ja->qhead + 1) % JA_QUEUE;
		ja->qn--;
		pthread_mutex_unlock(&ja->mu);
		err = attach(ja, j.pid, j.nspid);
		if (err == -EAGAIN)
			pr_warn_ratelimited("not asking JVM pid %d for its perf map: it does not "
					    "handle SIGQUIT (starting, or run with -Xrs)",
					    j.pid);
		else if (err)
			pr_warn_ratelimited(
			    "failed to ask JVM pid %d for its perf map: %s; its JIT "
			    "frames stay unnamed until the next try",
			    j.pid, strerror(-err));
		pthread_mutex_lock(&ja->mu);
		if (err) {
			ja->st.failed++;
			continue;
		}
		ja->st.written++;
		s = slot_of(ja, j.pid, false);
		if (s)
			s->rewritten = true;
	}
	pthread_mutex_unlock(&ja->mu);
	return NULL;
}

struct java_attach *java_attach__new(const struct java_attach_opts *opts)
{
	struct java_attach *ja = calloc(1, sizeof(*ja));
	int err;

	if (!ja)
		return NULL;
	if (opts)
		ja->o = *opts;
	if (!ja->o.min_interval_ns)
		ja->o.min_interval_ns = 2000000000ull;
	if (!ja->o.max_interval_ns)
		ja->o.max_interval_ns = 60000000000ull;
	if (!ja->o.timeout_ns)
		ja->o.timeout_ns = 5000000000ull;
	pthread_mutex_init(&ja->mu, NULL);
	pthread_cond_init(&ja->cv, NULL);
	err = pthread_create(&ja->thread, NULL, worker, ja);
	if (err) {
		java_attach__free(ja);
		errno = err;
		return NULL;
	}
	ja->started = true;
	return ja;
}

void java_attach__free(struct java_attach *ja)
{
	if (!ja)
		return;
	if (ja->started) {
		pthread_mutex_lock(&ja->mu);
		atomic_store(&ja->stop, true);
		pthread_cond_signal(&ja->cv);
		pthread_mutex_unlock(&ja->mu);
		pthread_join(ja->thread, NULL);
	}
	pthread_cond_destroy(&ja->cv);
	pthread_mutex_destroy(&ja->mu);
	free(ja);
}

void java_attach__request(struct java_attach *ja, int pid, int nspid)
{
	uint64_t now = monotonic_ns();
	struct ja_slot *s;

	pthread_mutex_lock(&ja->mu);
	s = slot_of(ja, pid, true);
	if (s->last_ns && now - s->last_ns < s->interval_ns)
		goto out;
	/* each new ask waits twice as long: a JVM rewriting a large map is not free */
	s->interval_ns = s->last_ns ? s->interval_ns * 2 : ja->o.min_interval_ns;
	if (s->interval_ns > ja->o.max_interval_ns)
		s->interval_ns = ja->o.max_interval_ns;
	s->last_ns = now;
	if (ja->qn == JA_QUEUE) {
		ja->st.dropped++;
		goto out;
	}
	ja->q[(ja->qhead + ja->qn++) % JA_QUEUE] = (struct ja_job){ pid, nspid };
	ja->st.requests++;
	pthread_cond_signal(&ja->cv);
out:
	pthread_mutex_unlock(&ja->mu);
}

bool java_attach__rewritten(struct java_attach *ja, int pid)
{
	struct ja_slot *s;
	bool r = false;

	pthread_mutex_lock(&ja->mu);
	s = slot_of(ja, pid, false);
	if (s) {
		r = s->rewritten;
		s->rewritten = false;
	}
	pthread_mutex_unlock(&ja->mu);
	return r;
}

void java_attach__stats(struct java_attach *ja, struct java_attach_stats *st)
{
	if (!ja) {
		*st = (struct java_attach_stats){ 0 };
		return;
	}
	pthread_mutex_lock(&ja->mu);
	*st = ja->st;
	pthread_mutex_unlock(&ja->mu);
}
