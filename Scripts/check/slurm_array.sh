#!/usr/bin/env bash
# Runs Documentation/ScalingOut.md's Slurm recipe on a real Slurm: a single-node cluster
# (slurmctld and slurmd on localhost, munge for authentication) configured in a temporary folder,
# cgroup-free so that it works in a container. It submits the guide's array job for a small
# pretext build, cancels one running task and requeues it, runs the guide's merge as a job that
# depends on the array (afterok), checks the merged dataset is byte-identical to a one-process
# build, and stops every daemon it started (on any exit). Usage (as root; installs slurm-wlm and
# munge from Debian's packages if missing):
#   [SLURM_CHECK_STOP=cancel|requeue] Scripts/check/slurm_array.sh PHOTOS_DIR [PHOTOS] [TASKS] [SMALL_DENOISER] [CROP]
# e.g. Scripts/check/slurm_array.sh ../shared/data/dev/real 8 4
# SLURM_CHECK_STOP=cancel (default): scancel a running task, then scontrol requeue it;
# SLURM_CHECK_STOP=requeue: scontrol requeue the running task directly (what pre-emption does).
# The recipe's text is taken from the guide itself (the ```bash block after "pretext-array.sbatch"
# and the one after "Submit"), so the guide and this check cannot drift apart. Without
# SMALL_DENOISER a tiny one is trained first (2 VAE and 2 U-Net steps: fast, and as deterministic
# as a good one, which is all a byte-identity check needs).
set -euo pipefail
source_photos=$1; photo_count=${2:-8}; tasks=${3:-4}; denoiser=${4:-}; crop=${5:-64}
root=$(cd "$(dirname "$0")/../.." && pwd)
grain=$(cd "$(dirname "${GRAIN:-$root/.build/release/grain}")" && pwd)/grain
guide=$root/Documentation/ScalingOut.md
[ -x "$grain" ] || { echo "no grain executable at $grain (swift build -c release first)"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "slurm-wlm and munge are missing; install them as root"; exit 1; }
  apt-cache show slurm-wlm >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

if ss -ltn 2>/dev/null | grep -qE ':1681[78]\b'; then echo "ports 16817/16818 are in use (another cluster of this check still running?)"; exit 1; fi
work=$(mktemp -d /tmp/grain-slurm.XXXXXX)
chmod 755 "$work"
daemons=()
stop() {
  for pid_file in "${daemons[@]}"; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  sleep 1
  for pid_file in "${daemons[@]}"; do
    [ -f "$pid_file" ] && kill -9 "$(cat "$pid_file")" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop EXIT

# The guide's two code blocks: the batch script, and the submission commands.
block() { awk -v marker="$1" 'found && /^```bash$/ {inside=1; next} inside && /^```$/ {exit} inside {print} index($0, marker) {found=1}' "$guide"; }
block "pretext-array.sbatch" > "$work/pretext-array.sbatch"
block "Submit the array" > "$work/submit.sh"
[ -s "$work/pretext-array.sbatch" ] && [ -s "$work/submit.sh" ] || { echo "cannot find the Slurm recipe in $guide"; exit 1; }

# Photos, and a small denoiser if none was given.
mkdir -p "$work/photos"
find "$source_photos" -maxdepth 1 -type f \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) | sort | head -n "$photo_count" \
  | while read -r photo; do ln -s "$(realpath "$photo")" "$work/photos/"; done
if [ -z "$denoiser" ]; then
  "$grain" denoiser train --photos "$work/photos" --out "$work/denoiser" --vae-steps 2 --steps 2 --batch-size 2 --crop-size 32 2>/dev/null
  denoiser=$work/denoiser/model
  echo "trained a tiny small denoiser (2 VAE + 2 U-Net steps)"
fi
denoiser=$(realpath "$denoiser")

# munge, with its own key, socket and files.
mungekey --create --keyfile="$work/munge.key" 2>/dev/null || dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed"
daemons+=("$work/munged.pid")

# Slurm: one node (this machine, as "localhost"), its CPUs, no cgroups, no accounting.
cpus=$(nproc)
cat > "$work/slurm.conf" <<EOF
ClusterName=grain-check
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
SchedulerParameters=defer
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2048 State=UNKNOWN
PartitionName=check Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf
slurmctld -c -f "$SLURM_CONF"       # -c: a clean start, no state from an earlier cluster
daemons+=("$work/slurmctld.pid")
slurmd -N localhost -f "$SLURM_CONF"
daemons+=("$work/slurmd.pid")
for _ in $(seq 1 60); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 1; done
sinfo -h -o %T | grep -qx idle || { echo "the Slurm node did not come up"; tail -5 "$work/slurmctld.log" "$work/slurmd.log"; exit 1; }
echo "cluster up: $(sinfo -h -o '%P %D node(s), %c CPUs, %T') (Slurm $(sinfo -V | cut -d' ' -f2))"

# The guide's submission, with this run's paths and sizes put in place of the guide's.
out=$work/pretext
sed -e "s|sbatch --parsable pretext-array.sbatch|sbatch --parsable --array=0-$((tasks - 1)) --cpus-per-task=1 --mem=512M --time=30 --output=$work/task-%A_%a.out --export=ALL,PATH=$(dirname "$grain"):\$PATH $work/pretext-array.sbatch|" \
    -e "s|sbatch --parsable --job-name=grain-merge|sbatch --parsable --job-name=grain-merge --output=$work/merge-%j.out --export=ALL,PATH=$(dirname "$grain"):\$PATH --mem=512M --time=30|" \
    -e "s|/data/real-photos|$work/photos|; s|/shared/pretext|$out|g; s|--stable-diffusion /models/stable-diffusion-v1-4|--small-denoiser $denoiser --crop-size $crop|" \
    -e "s|--shards 64|--shards $tasks|" "$work/submit.sh" > "$work/submit-here.sh"
echo "submitting (the guide's commands, paths and sizes replaced):"; sed 's/^/  /' "$work/submit-here.sh"
# The submission prints the array's and the merge's job ids (sbatch --parsable).
source "$work/submit-here.sh" > "$work/ids"
{ read -r array_id; read -r merge_id; } < "$work/ids"
echo "array job $array_id ($tasks tasks), merge job $merge_id (afterok:$array_id)"

# Cancel one running task, then requeue it.
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
running=
for _ in $(seq 1 600); do
  running=$(squeue -h -r -j "$array_id" -t RUNNING -o %i | head -1)
  [ -n "$running" ] && break; sleep 0.1
done
[ -n "$running" ] || { echo "no array task ever ran"; exit 1; }
# Let it get into its work: until two photos of the array are done (or 20 s).
for _ in $(seq 1 200); do [ "$(find "$out/records" -name '*.jsonl' 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
[ "$(state "$running")" = RUNNING ] || running=$(squeue -h -r -j "$array_id" -t RUNNING -o %i | head -1)
if [ "${SLURM_CHECK_STOP:-cancel}" = cancel ]; then
  scancel "$running"
  for _ in $(seq 1 100); do [ "$(state "$running")" = CANCELLED ] && break; sleep 0.1; done
  echo "cancelled running task $running: $(state "$running")"
  echo "  merge job $merge_id then: $(state "$merge_id") ($(scontrol show job "$merge_id" | grep -o 'Reason=[^ ]*'))"
  scontrol requeue "$running"
else
  # SLURM_CHECK_STOP=requeue: requeue the running task directly, as pre-emption does.
  echo "requeueing running task $running (scontrol requeue, no scancel)"
  scontrol requeue "$running"
fi
echo "requeued task $running: $(state "$running") ($(scontrol show job "$running" | grep -o 'Reason=[^ ]*'))"
# Slurm holds a requeued job back for a while (its BeginTime); release it now.
scontrol update JobId="$running" StartTime=now

# Wait for everything. A task ended by scancel stays CANCELLED for the dependency even when it is
# requeued and completes, so the merge's afterok becomes DependencyNeverSatisfied: the guide's
# remedy is to set the dependency again once the array has finished.
never() { squeue -h -j "$merge_id" -o %r 2>/dev/null | grep -q DependencyNeverSatisfied; }
array_left() { squeue -h -r -j "$array_id" -o %i 2>/dev/null | grep -c . || true; }
for _ in $(seq 1 3600); do [ "$(array_left)" -eq 0 ] && break; sleep 1; done
[ "$(array_left)" -eq 0 ] || { echo "array tasks still queued after an hour:"; squeue; exit 1; }
# The merge either runs or is found never satisfied (the scheduler re-evaluates in its own time).
settle() {
  for _ in $(seq 1 1800); do
    case $(state "$merge_id") in COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL) return ;; esac
    never && return
    sleep 1
  done
}
settle
merge_command=$(grep -- '--job-name=grain-merge' "$work/submit-here.sh")
if never; then
  echo "array finished; merge job $merge_id: $(state "$merge_id") (Reason=DependencyNeverSatisfied: the cancelled task counts as not ok)"
  # The guide's remedy: cancel it and submit the merge again, now that every task has succeeded.
  scancel "$merge_id"
  merge_id=$(eval "$merge_command")
  echo "  resubmitted the merge (the same sbatch --dependency=afterok:$array_id) as job $merge_id"
  settle
  if never; then
    scancel "$merge_id"
    merge_id=$(eval "$(sed 's/--dependency=[^ ]* //' <<<"$merge_command")")
    echo "  afterok still never satisfied; the merge submitted without a dependency as job $merge_id"
    settle
  fi
fi
for task in $(seq 0 $((tasks - 1))); do
  job="${array_id}_$task"
  echo "task $job: $(state "$job"), $(scontrol show job "$job" | grep -o 'ExitCode=[0-9:]*' | head -1), restarts $(scontrol show job "$job" | grep -o 'Restarts=[0-9]*' | cut -d= -f2): $(tail -1 "$work/task-${array_id}_$task.out")"
done
echo "merge job $merge_id: $(state "$merge_id"), $(scontrol show job "$merge_id" | grep -o 'ExitCode=[0-9:]*' | head -1): $(tail -1 "$work"/merge-"$merge_id".out)"
[ "$(state "$merge_id")" = COMPLETED ] || { echo "the merge job did not complete"; cat "$work"/merge-*.out 2>/dev/null; exit 1; }

# The same build in one process.
"$grain" pretext build --photos "$work/photos" --small-denoiser "$denoiser" --crop-size "$crop" --out "$work/single" 2>/dev/null
"$grain" pretext merge --out "$work/single" 2>/dev/null
files=$(find "$out" -type f ! -name 'manifest-shard-*' | wc -l)
if diff -r -x 'manifest-shard-*' "$work/single" "$out" >/dev/null; then
  echo "merged dataset of the array: byte-identical to a one-process build ($files files, manifest $(sha256sum < "$out/manifest.jsonl" | cut -c1-16))"
else
  echo "merged dataset of the array DIFFERS from a one-process build"; diff -rq -x 'manifest-shard-*' "$work/single" "$out" | head; exit 1
fi
