"""The measurement protocol shared by every Scripts/compare/*.py speed comparison.

Speed ratios taken while other jobs run are not comparisons: under contention PyTorch's OpenMP
threads collapse far more than Grain's (issue 15). Every comparison script therefore

1. re-executes itself without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (`reexec_without_overrides`),
   so both sides -- Grain's OpenBLAS and numpy's / PyTorch's -- pick their kernels from the CPU;
   the variables stay as they are in the calling shell (tests and CI keep them);
2. waits until the machine is idle (`wait_until_idle`: every core at least 90 % idle over a
   3-second window, read from /proc/stat) before the first round and before each round;
3. measures each round with a `Round` monitor: the CPU time of all cores (/proc/stat) minus the
   CPU time of this process and its children (getrusage) is the time taken by *other* processes;
   a round in which they used more than 10 % of the machine is marked `loaded`, and the summary
   takes its best and median over the clean rounds only (all rounds when none is clean, flagged);
4. prints the runtime: Grain's kernel level (`Kernels.activeLevel`, GRAIN_KERNELS) and OpenBLAS
   core (`grain runtime`), and the BLAS libraries of the Python side (threadpoolctl).

    from measurement import Protocol
    protocol = Protocol.from_arguments(args)      # after protocol_arguments(parser)
    for round_index in range(args.rounds):
        with protocol.round() as current:
            ...                                   # run both sides
        print(current.describe())
    summary.update(protocol.summary())
"""
import json
import os
import resource
import subprocess
import sys
import time

#: The variables that pin OpenBLAS to a kernel family or cache size (set on the shared machine for
#: tests); benchmarks remove them in their own (child) processes only.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set in the re-executed child so it does not re-execute again.
_MARKER = "GRAIN_MEASUREMENT_CLEAN"
#: Idle fraction every core must reach over the window before a round starts.
IDLE_THRESHOLD = 0.90
#: Seconds over which idleness is measured.
IDLE_WINDOW = 3.0
#: Share of the machine (all cores) that other processes may use during a round before it is marked.
FOREIGN_LOAD_LIMIT = 0.10
_TICKS = os.sysconf("SC_CLK_TCK")


def reexec_without_overrides():
    """Re-executes this script without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if either is set.

    Call it first thing in main(), before numpy, scikit-learn or torch is imported: the BLAS of an
    in-process reference reads the variables when it loads. Only the re-executed process (a child
    of the shell's environment, not the shell) loses them."""
    if os.environ.get(_MARKER) == "1":
        return
    if not any(name in os.environ for name in OPENBLAS_OVERRIDES):
        return
    environment = {key: value for key, value in os.environ.items() if key not in OPENBLAS_OVERRIDES}
    environment[_MARKER] = "1"
    removed = ", ".join(name for name in OPENBLAS_OVERRIDES if name in os.environ)
    print(f"measurement: re-running without {removed} (both sides pick their BLAS kernels from the CPU)",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    arguments = getattr(sys, "orig_argv", [sys.executable] + sys.argv)[1:]  # interpreter options kept
    os.execve(sys.executable, [sys.executable] + arguments, environment)


def benchmark_environment(threads=None, base=None):
    """A copy of the environment for a benchmark child: no OpenBLAS overrides, and with `threads`
    the usual thread-count variables set for both sides."""
    environment = {key: value for key, value in (base or os.environ).items() if key not in OPENBLAS_OVERRIDES}
    environment.pop(_MARKER, None)
    if threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            environment[name] = str(threads)
    return environment


def cpu_times():
    """Per-core (busy, total) jiffies from /proc/stat."""
    cores = []
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("cpu") and line[3].isdigit():
                values = [int(v) for v in line.split()[1:]]
                idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
                total = sum(values[:8])  # guest time is already inside user
                cores.append((total - idle, total))
    return cores


def idle_fractions(window=IDLE_WINDOW):
    """The idle fraction of every core over the next `window` seconds."""
    before = cpu_times()
    time.sleep(window)
    after = cpu_times()
    fractions = []
    for (busy0, total0), (busy1, total1) in zip(before, after):
        total = total1 - total0
        fractions.append(1.0 if total <= 0 else 1.0 - (busy1 - busy0) / total)
    return fractions


def wait_until_idle(threshold=IDLE_THRESHOLD, window=IDLE_WINDOW, timeout=None):
    """Blocks until every core is at least `threshold` idle over one `window`; returns the idle
    fractions seen. With `timeout` (seconds), exits with an error when the machine stays busy."""
    start = time.monotonic()
    last_report = -1e9
    while True:
        fractions = idle_fractions(window)
        if min(fractions) >= threshold:
            return fractions
        waited = time.monotonic() - start
        if timeout is not None and waited >= timeout:
            sys.exit(f"measurement: the machine stayed busy for {waited:.0f} s (core idle "
                     f"{', '.join(f'{f:.0%}' for f in fractions)}, need >= {threshold:.0%} on every core); "
                     "pause the other jobs, or pass --allow-load to measure anyway (rounds will be marked)")
        if waited - last_report >= 30:
            print(f"measurement: waiting for an idle machine (core idle {', '.join(f'{f:.0%}' for f in fractions)}, "
                  f"need >= {threshold:.0%}; {waited:.0f} s so far)", file=sys.stderr, flush=True)
            last_report = waited


def _own_cpu_seconds():
    """User + system seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Round:
    """One measured round: wall time, the CPU time of the machine, our own CPU time, and from them
    the share of the machine used by other processes (`foreign_load`, 0 to 1)."""

    def __init__(self, index):
        self.index = index
        self.foreign_load = None
        self.loaded = None

    def __enter__(self):
        self._cores = cpu_times()
        self._own = _own_cpu_seconds()
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exception):
        wall = time.monotonic() - self._wall
        own = _own_cpu_seconds() - self._own
        after = cpu_times()
        busy = sum(b1 - b0 for (b0, _), (b1, _) in zip(self._cores, after)) / _TICKS
        cores = len(after)
        self.wall_seconds = wall
        self.own_cpu_seconds = own
        self.machine_cpu_seconds = busy
        self.foreign_load = max(0.0, busy - own) / max(wall * cores, 1e-9)
        self.loaded = self.foreign_load > FOREIGN_LOAD_LIMIT
        return False

    def describe(self):
        mark = "LOADED, excluded" if self.loaded else "clean"
        return f"other processes used {self.foreign_load:.0%} of the machine ({mark})"

    def record(self):
        return {"round": self.index + 1, "foreign_load": round(self.foreign_load, 4), "loaded": self.loaded,
                "wall_seconds": round(self.wall_seconds, 3)}


class Protocol:
    """The protocol of one comparison run: the idle wait before each round and the round records."""

    def __init__(self, wait=True, timeout=None):
        self.wait = wait
        self.timeout = timeout
        self.rounds = []

    @staticmethod
    def from_arguments(args):
        return Protocol(wait=not args.allow_load, timeout=args.idle_timeout)

    def round(self):
        """Waits for an idle machine (unless --allow-load), then returns the monitor of the next round."""
        if self.wait:
            wait_until_idle(timeout=self.timeout)
        current = Round(len(self.rounds))
        self.rounds.append(current)
        return current

    def clean(self, values):
        """The values of the clean rounds (one value per round, in round order), or all of them when
        no round is clean."""
        kept = [v for v, r in zip(values, self.rounds) if not r.loaded]
        return kept if kept else list(values)

    def summary(self):
        clean = sum(1 for r in self.rounds if not r.loaded)
        return {"protocol": {"idle_wait": self.wait, "idle_threshold": IDLE_THRESHOLD,
                             "foreign_load_limit": FOREIGN_LOAD_LIMIT, "clean_rounds": clean,
                             "all_rounds_loaded": clean == 0 and bool(self.rounds),
                             "rounds": [r.record() for r in self.rounds]}}


def protocol_arguments(parser):
    """Adds --allow-load and --idle-timeout to a script's parser."""
    parser.add_argument("--allow-load", action="store_true",
                        help="do not wait for an idle machine (rounds are still measured and marked)")
    parser.add_argument("--idle-timeout", type=float, default=1800,
                        help="seconds to wait for an idle machine before giving up (default 1800)")


def grain_runtime(grain, environment):
    """Grain's kernel level, OpenBLAS core and threads (`grain runtime`, a hidden command)."""
    try:
        completed = subprocess.run([grain, "runtime"], capture_output=True, text=True, env=environment, check=True)
        return json.loads(completed.stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as error:
        return {"error": f"{grain} runtime: {error}"}


def python_runtime(modules, environment):
    """The BLAS / OpenMP libraries a Python reference loads (threadpoolctl), measured in a child
    process with the benchmark's environment after importing `modules`."""
    code = ("import json, sys\n"
            + "".join(f"import {m}\n" for m in modules)
            + "try:\n    import threadpoolctl\n"
            "    info = [{k: i.get(k) for k in ('internal_api', 'architecture', 'num_threads', 'version')}"
            " for i in threadpoolctl.threadpool_info()]\n"
            "except ImportError:\n    info = 'threadpoolctl not installed'\n"
            "print(json.dumps(info))\n")
    try:
        completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                                   check=True)
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError, IndexError) as error:
        return f"unavailable ({error})"


def print_runtime(grain=None, environment=None, python_modules=None):
    """Prints (stderr) and returns the runtime of both sides."""
    environment = environment or benchmark_environment()
    runtime = {}
    if grain:
        runtime["grain"] = grain_runtime(grain, environment)
    if python_modules:
        runtime["python"] = python_runtime(python_modules, environment)
    overrides = {name: os.environ[name] for name in OPENBLAS_OVERRIDES if name in os.environ}
    runtime["openblas_overrides_in_children"] = overrides or "none"
    print(f"measurement: runtime {json.dumps(runtime)}", file=sys.stderr, flush=True)
    return runtime
