"""How much CPU a fixture got, over the exact span a profile covers: sample floors are set
from it, so a loaded machine (the fixture got less CPU) does not fail them and a lost sample
on an idle one does.

CpuWatch(pid) polls /proc/PID/stat (utime + stime of every thread) every 20 ms with the wall
clock; cpu_seconds(t0_ns, t1_ns) interpolates it over [t0, t1] (wall-clock nanoseconds, the
time_nanos and duration_nanos of a profile). Floors are FLOOR (85%) of cpu seconds times the
sampling rate: a cpu-clock event fires once per 1/rate s of CPU time.

On a loaded host a task runs in slices shorter than the sampling period, and which slices a
sample falls in is chance: the count is then a random variable with a standard deviation of
about sqrt(implied). floor() and ceiling() allow three of those where that is wider than
the 85% (or 115%) margin, which is only for small counts (below ~400 implied); an idle
host's runs, with hundreds of samples, are held to 85%."""
import math
import os
import threading
import time

FLOOR = 0.85
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def host_idle_ticks():
    """Idle time of every CPU of the host, in clock ticks."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[4])


def host_busy_ticks():
    """CPU time of every task on the host (not idle, not iowait), all CPUs, in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4] - v[7]  # user nice system idle iowait irq softirq steal


class CpuWatch:
    """pid None watches the whole host's busy CPU time (idle=True: its idle time) instead of
    one process's."""

    def __init__(self, pid, interval=0.02, idle=False):
        self.pid = pid
        self.read = (host_idle_ticks if idle else host_busy_ticks) if pid is None else \
            lambda: proc_cpu_ticks(pid)
        self.points = []  # (wall ns, cpu ticks)
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self.thread.start()

    def _run(self, interval):
        while not self.stop_ev.is_set():
            try:
                self.points.append((time.time_ns(), self.read()))
            except (OSError, IndexError, ValueError):
                return  # the process is gone
            time.sleep(interval)

    def stop(self):
        """Ends the watch with one last reading, taken now: what was watched then covers
        everything up to the call (the process must still be running)."""
        self.stop_ev.set()
        self.thread.join()
        try:
            self.points.append((time.time_ns(), self.read()))
        except (OSError, IndexError, ValueError):
            pass

    def _at(self, t):
        pts = self.points
        if not pts or t < pts[0][0] or t > pts[-1][0]:
            raise AssertionError("CPU of pid %d not watched at %d (watched %s..%s)"
                                 % (self.pid, t, pts and pts[0][0], pts and pts[-1][0]))
        lo, hi = 0, len(pts) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if pts[mid][0] <= t:
                lo = mid
            else:
                hi = mid
        (t0, c0), (t1, c1) = pts[lo], pts[hi]
        return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0)

    def cpu_seconds(self, t0_ns, t1_ns):
        # clock ticks are 10 ms: the interpolation is good to about one tick at each end
        return (self._at(t1_ns) - self._at(t0_ns)) / TICK

    def floor(self, t0_ns, t1_ns, hz):
        """(samples the rate implies for the CPU the process got in [t0, t1], its floor)"""
        want = self.cpu_seconds(t0_ns, t1_ns) * hz
        return want, floor(want)


def floor(want):
    """The fewest samples acceptable where want are implied (see above)."""
    return min(FLOOR * want, want - 3 * math.sqrt(want))


def ceiling(want):
    """The most samples acceptable where want are implied: more would be counted twice."""
    return max(want * 1.15, want + 3 * math.sqrt(want)) + 5
