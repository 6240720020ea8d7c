/* Table tests of cgroup -> identity over real-world /proc/PID/cgroup paths and lines. */
#include <errno.h>

#include "label/cgroup_identity.h"
#include "test.h"

#define ID64 "3f4e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
#define ID2  "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"
#define USER "/user.slice/user-1000.slice/user@1000.service"
#define UID  "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
#define UID_ "1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9"

struct row {
	const char *path, *container_id, *runtime, *pod_uid, *qos, *unit;
};

static const struct row rows[] = {
	{ "/system.slice/nginx.service", "", "", "", "", "nginx.service" },
	{ "/system.slice/docker-" ID64 ".scope", ID64, "docker", "", "", "" },
	{ "/docker/" ID64, ID64, "docker", "", "", "" },
	{ "/system.slice/containerd.service/kubepods-burstable-pod" UID_
	  ".slice:cri-containerd:" ID64,
	  ID64, "containerd", UID, "burstable", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID64 ".scope",
	  ID64, "containerd", UID, "burstable", "" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-" ID64 ".scope",
	  ID64, "crio", UID, "besteffort", "" },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID64 ".scope", ID64,
	  "containerd", UID, "guaranteed", "" },
	{ "/kubepods/besteffort/pod" UID "/" ID64, ID64, "containerd", UID, "besteffort", "" },
	{ "/kubepods/pod" UID "/" ID64, ID64, "containerd", UID, "guaranteed", "" },
	{ "/machine.slice/libpod-" ID64 ".scope/container", ID64, "podman", "", "", "" },
	/* the user's manager names everything below it: the unit systemd made is user@1000 */
	{ USER "/app.slice/app-foo.service", "", "", "", "", "user@1000.service" },
	{ "/user.slice/user-1000.slice/session-3.scope", "", "", "", "", "" },
	{ "/", "", "", "", "", "" },
	{ "/system.slice/docker-abc.scope", "", "", "", "", "" },	/* not an id */
	{ "/system.slice/docker-" ID64 "0.scope", "", "", "", "", "" }, /* 65 hex */
	{ "/system.slice/docker-0123456789abcdef0123456789abcdef.scope",
	  "0123456789abcdef0123456789abcdef", "docker", "", "", "" }, /* 32-hex ids */
	{ "/system.slice/my.weird.name.service/sub", "", "", "", "", "my.weird.name.service" },
	/* names shaped by whoever owns the subtree they sit in are not believed */
	{ USER "/app.slice/nginx.service", "", "", "", "", "user@1000.service" },
	{ USER "/app.slice/docker-" ID64 ".scope", "", "", "", "", "user@1000.service" },
	{ USER "/user.slice/libpod-" ID64 ".scope", "", "", "", "", "user@1000.service" },
	{ USER "/docker/" ID64, "", "", "", "", "user@1000.service" },
	{ USER "/kubepods/besteffort/pod" UID "/" ID64, "", "", "", "", "user@1000.service" },
	{ USER "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID64 ".scope", "", "",
	  "", "", "user@1000.service" },
	{ "/system.slice/ci-runner.service/docker-" ID64 ".scope", "", "", "", "",
	  "ci-runner.service" },
	{ "/system.slice/ci-runner.service/nginx.service", "", "", "", "", "ci-runner.service" },
	{ "/unmanaged/docker-" ID64 ".scope", "", "", "", "", "" },
	{ "/unmanaged/nginx.service", "", "", "", "", "" },
	/* inside a container its own processes name the cgroups: the outer id stands */
	{ "/system.slice/docker-" ID64 ".scope/docker-" ID2 ".scope", ID64, "docker", "", "", "" },
	{ "/docker/" ID64 "/docker/" ID2, ID64, "docker", "", "", "" },
	{ "/docker/" ID64 "/nginx.service", ID64, "docker", "", "", "" },
	/* relative to the agent's cgroup namespace */
	{ "/../../kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID64 ".scope", ID64,
	  "containerd", UID, "besteffort", "" },
};

static void test_paths_table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cgroup_identity id;
		int before = test_st.cur_failed;

		cgroup_identity_from_path(rows[i].path, &id);
		CHECK_STR(id.container_id, rows[i].container_id);
		CHECK_STR(id.runtime, rows[i].runtime);
		CHECK_STR(id.pod_uid, rows[i].pod_uid);
		CHECK_STR(id.qos_class, rows[i].qos);
		CHECK_STR(id.systemd_unit, rows[i].unit);
		if (test_st.cur_failed != before)
			fprintf(stderr, "    (row %zu: %s)\n", i, rows[i].path);
	}
}

static void test_proc_files(void)
{
	const char *v2 = "0::/system.slice/docker-" ID64 ".scope\n";
	const char *hybrid = "12:cpu,cpuacct:/\n1:name=systemd:/system.slice/sshd.service\n0::/\n";
	const char *v1 = "11:memory:/kubepods/burstable/pod" UID "/" ID64 "\n"
			 "10:cpu,cpuacct:/kubepods/burstable/pod" UID "/" ID64 "\n";
	const char *v1root = "3:cpu:/\n2:memory:/docker/" ID64 "\n1:name=systemd:/\n0::/\n";
	const char *junk = "garbage\nmore:garbage\n";
	struct cgroup_identity id;

	CHECK_INT(cgroup_identity_from_proc(v2, strlen(v2), &id), 0);
	CHECK_STR(id.container_id, ID64);
	CHECK_STR(id.systemd_unit, "");
	CHECK_INT(cgroup_identity_from_proc(hybrid, strlen(hybrid), &id), 0);
	CHECK_STR(id.systemd_unit, "sshd.service");
	CHECK_INT(cgroup_identity_from_proc(v1, strlen(v1), &id), 0);
	CHECK_STR(id.pod_uid, UID);
	CHECK_STR(id.qos_class, "burstable");
	CHECK_INT(cgroup_identity_from_proc(v1root, strlen(v1root), &id), 0);
	CHECK_STR(id.container_id, ID64); /* found in the one hierarchy that is not the root */
	CHECK_INT(cgroup_identity_from_proc(junk, strlen(junk), &id), -EINVAL);
	CHECK_INT(cgroup_identity_from_proc("", 0, &id), -EINVAL);
}

/* A user's own unit or runtime-shaped scope, on each cgroup layout, names nothing. */
static void test_proc_files_spoofed(void)
{
	const char *v2 = "0::" USER "/app.slice/docker-" ID64 ".scope\n";
	const char *hybrid = "4:memory:/\n1:name=systemd:" USER "/app.slice/nginx.service\n"
			     "0::" USER "/app.slice/nginx.service\n";
	const char *v1 = "4:memory:" USER "/docker-" ID64 ".scope\n"
			 "3:cpu:/docker/" ID64 "/docker-" ID2 ".scope\n"
			 "1:name=systemd:" USER "/app.slice/nginx.service\n";
	const char *v1_mem = "4:memory:" USER "/docker/" ID64 "\n3:cpu:/\n";
	struct cgroup_identity id;

	CHECK_INT(cgroup_identity_from_proc(v2, strlen(v2), &id), 0);
	CHECK_STR(id.container_id, "");
	CHECK_STR(id.systemd_unit, "user@1000.service");
	CHECK_INT(cgroup_identity_from_proc(hybrid, strlen(hybrid), &id), 0);
	CHECK_STR(id.container_id, "");
	CHECK_STR(id.systemd_unit, "user@1000.service");
	CHECK_INT(cgroup_identity_from_proc(v1, strlen(v1), &id), 0);
	CHECK_STR(id.container_id, "");
	CHECK_STR(id.systemd_unit, "user@1000.service");
	CHECK_INT(cgroup_identity_from_proc(v1_mem, strlen(v1_mem), &id), 0);
	CHECK_STR(id.container_id, "");
	CHECK_STR(id.runtime, "");
	CHECK_INT(cgroup_identity_from_proc("", 0, &id), -EINVAL);
}

int main(void)
{
	RUN_TEST(test_paths_table);
	RUN_TEST(test_proc_files);
	RUN_TEST(test_proc_files_spoofed);
	return TEST_SUMMARY();
}
