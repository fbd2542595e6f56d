#!/usr/bin/env bash
# Kill matrix: kills `hadrill run` at up to 20 points spread over image build, lab up, SSH
# wait, bootstrap, a fault and collect, and counts what each killed run left behind.
#
#   ci/kill-matrix.sh [--points all|N|ID,ID,...] [--signal KILL|INT|TERM] [--bin DIR]
#                     [--work DIR] [--scenario FILE] [--list]
#
# For each point it starts `hadrill run SCENARIO` with a private state directory and TMPDIR,
# waits for the point's trigger (a line of the run's log, or the run directory's artefacts
# appearing), waits the point's delay, sends the signal and waits for hadrill to exit. After
# SIGKILL it runs `hadrill gc`; after SIGINT or SIGTERM it does not (the run must clean up by
# itself). Then it counts what is left, twice: `hadrill gc --dry-run` (hadrill's inventory),
# and independently of hadrill (virsh, files, mounts, processes, the private TMPDIR). It
# prints one row per point and the total, and exits 1 if anything was left.
#
# Build points use a state directory with no image, so a build really happens; the others
# use a state directory whose image is a hard link to the host's cached one
# (/var/lib/hadrill/images, or HADRILL_IMAGE_CACHE). Run it from the repository root, as root,
# with no other lab of yours running; one lab at a time. Needs `hadrill` and
# `hadrill-workload` in --bin (default target/release).
set -u -o pipefail

POINTS=all
SIGNAL=KILL
BIN=target/release
WORK=/tmp/hadrill-kill-matrix
SCENARIO=scenarios/pacemaker/power-pull.yaml
IMAGE=debian-ha
LIST=0
CACHE=${HADRILL_IMAGE_CACHE:-/var/lib/hadrill/images}
# How long a point waits for its trigger, and for hadrill to exit after SIGINT/SIGTERM.
TRIGGER_LIMIT=${KILL_MATRIX_TRIGGER_LIMIT:-1200}
EXIT_LIMIT=${KILL_MATRIX_EXIT_LIMIT:-180}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --points) POINTS=$2; shift 2 ;;
        --signal) SIGNAL=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --scenario) SCENARIO=$2; shift 2 ;;
        --list) LIST=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 4 ;;
    esac
done
case "$SIGNAL" in KILL|INT|TERM) ;; *) echo "--signal must be KILL, INT or TERM" >&2; exit 4 ;; esac

# id | phase | trigger (log regex, or @artefacts) | delay after the trigger (s)
TABLE='build-5|image build|step="1/4"|5
build-45|image build|step="1/4"|45
build-100|image build|step="1/4"|100
build-mkfs|image build|step="3/4"|2
up-start|lab up|accel="[a-z]+"|0
up-started|lab up|started run=.*node="storage"|0
ssh-5|SSH wait|waiting for SSH on every VM|5
ssh-60|SSH wait|waiting for SSH on every VM|60
workload|bootstrap|SSH up on every VM|2
boot-files|bootstrap|bootstrap: writing|1
boot-enable|bootstrap|bootstrap: enable sbd|20
boot-quorum|bootstrap|bootstrap: wait for quorum|5
ready|bootstrap|waiting for a ready cluster|3
fault-0|fault|injected power-pull|0
fault-20|fault|injected power-pull|20
heal|fault|healed power-pull|2
online|fault|step 5/5|30
collect-0|collect|@artefacts|0
collect-3|collect|@artefacts|3
summary|collect|^run directory:|0'

if [ "$LIST" = 1 ]; then
    echo "$TABLE" | awk -F'|' '{printf "%-12s %-12s %-40s +%ss\n", $1, $2, $3, $4}'
    exit 0
fi

selected() {
    case "$POINTS" in
        all) echo "$TABLE" ;;
        *[!0-9]*) echo "$TABLE" | awk -F'|' -v want=",$POINTS," 'index(want, "," $1 ",")' ;;
        *) echo "$TABLE" | head -n "$POINTS" ;;
    esac
}

[ -x "$BIN/hadrill" ] && [ -x "$BIN/hadrill-workload" ] || { echo "no hadrill/hadrill-workload in $BIN" >&2; exit 4; }
BIN=$(cd "$BIN" && pwd)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# Job control: hadrill gets a process group of its own and SIGINT is not ignored in it.
set -m

# The shared state directory of the non-build points: the cached image, hard-linked.
image_state() {
    local s=$WORK/state
    if [ ! -d "$s/images/$IMAGE" ]; then
        mkdir -p "$s/images"
        local hash
        hash=$(ls -t "$CACHE/$IMAGE" 2>/dev/null | grep -v '^\.' | head -n 1)
        [ -n "$hash" ] || { echo "no built $IMAGE image in $CACHE: run \`hadrill image build $IMAGE\`" >&2; exit 3; }
        mkdir -p "$s/images/$IMAGE"
        cp -al "$CACHE/$IMAGE/$hash" "$s/images/$IMAGE/$hash"
    fi
    echo "$s"
}

# What is left, seen without hadrill: for run $1 (may be empty) in state dir $2, TMPDIR $3.
independent() {
    local run=$1 state=$2 tmp=$3 n=0 c
    if [ -n "$run" ]; then
        c=$(virsh list --all --name 2>/dev/null | grep -c "^hd-$run-"); n=$((n + c))
        c=$(virsh net-list --all --name 2>/dev/null | grep -c "^hd-$run-"); n=$((n + c))
        c=$(ls /var/log/libvirt/qemu/ /var/lib/libvirt/dnsmasq/ /sys/class/net/ 2>/dev/null | grep -c "^hd-\{0,1\}$run"); n=$((n + c))
    fi
    c=$(find "$state/runs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l); n=$((n + c))
    c=$(find "$state/images" -mindepth 2 -maxdepth 2 -name '.*' 2>/dev/null | wc -l); n=$((n + c))
    c=$(awk -v s="$state" 'index($2, s) == 1' /proc/self/mounts | wc -l); n=$((n + c))
    c=$(pgrep -f -- "$state" | grep -v "^$$\$" | while read -r p; do
        case "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" in qemu-system*|*/qemu-system*|"") ;; *) echo "$p" ;; esac
    done | wc -l); n=$((n + c))
    c=$(find "$tmp" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l); n=$((n + c))
    echo "$n"
}

now() { date +%s.%N; }

ROWS=()
TOTAL=0
CHILD=
cleanup() {
    if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
        kill -INT "$CHILD" 2>/dev/null
        wait "$CHILD" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%-12s %-12s %-6s %8s %6s %11s  %s\n' POINT PHASE SIGNAL SECONDS LEFT INDEPENDENT NOTE
while IFS='|' read -r id phase trigger delay; do
    [ -n "$id" ] || continue
    case "$phase" in
        "image build")
            state=$WORK/build-$id
            if awk -v s="$state" 'index($2, s) == 1' /proc/self/mounts | grep -q .; then
                echo "$state has mounts under it; not reusing it" >&2; exit 3
            fi
            rm -rf "$state"; mkdir -p "$state" ;;
        *) state=$(image_state) ;;
    esac
    tmp=$WORK/tmp-$id; rm -rf "$tmp"; mkdir -p "$tmp"
    out=$WORK/out-$id; rm -rf "$out"
    log=$WORK/$id.log
    start=$(now)
    TMPDIR=$tmp HADRILL_STATE_DIR=$state "$BIN/hadrill" --color never run "$SCENARIO" --out "$out" >"$log" 2>&1 &
    CHILD=$!
    note=
    # The trigger.
    while :; do
        if ! kill -0 "$CHILD" 2>/dev/null; then note="exited before the trigger"; break; fi
        if [ "$trigger" = @artefacts ]; then
            [ -d "$out/artefacts" ] && break
        elif grep -Eq -- "$trigger" "$log" 2>/dev/null; then
            break
        fi
        if awk -v a="$(now)" -v b="$start" -v l="$TRIGGER_LIMIT" 'BEGIN { exit !(a - b > l) }'; then
            note="trigger not seen"; break
        fi
        sleep 0.2
    done
    [ -z "$note" ] && sleep "$delay"
    at=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
    kill -"$SIGNAL" "$CHILD" 2>/dev/null || note="${note:+$note; }gone before the signal"
    # Exit: SIGKILL is immediate; after SIGINT/SIGTERM hadrill tears down on its own.
    waited=0
    while kill -0 "$CHILD" 2>/dev/null && [ $waited -lt "$EXIT_LIMIT" ]; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$CHILD" 2>/dev/null; then
        note="${note:+$note; }still running ${EXIT_LIMIT}s after SIG$SIGNAL, killed"
        kill -KILL "$CHILD"
    fi
    wait "$CHILD" 2>/dev/null
    code=$?
    CHILD=
    run=$(grep -Eo 'run="?[0-9a-f]{8}' "$log" | head -n 1 | grep -Eo '[0-9a-f]{8}$' || true)
    if [ "$SIGNAL" = KILL ]; then
        HADRILL_STATE_DIR=$state "$BIN/hadrill" gc >"$WORK/$id.gc.log" 2>&1 || note="${note:+$note; }gc failed"
    fi
    left=$(HADRILL_STATE_DIR=$state "$BIN/hadrill" gc --dry-run 2>&1 | tee "$WORK/$id.left" | awk '/ left$/ {print $1}')
    left=${left:-?}
    ind=$(independent "$run" "$state" "$tmp")
    note="${note:+$note; }exit $code${run:+, run $run}"
    printf '%-12s %-12s %-6s %8.1f %6s %11s  %s\n' "$id" "$phase" "$SIGNAL" "$at" "$left" "$ind" "$note"
    ROWS+=("$id")
    [ "$left" = "?" ] && left=1
    TOTAL=$((TOTAL + left + ind))
    # A build point's throwaway state directory, once nothing is mounted in it and nothing
    # runs in it (a build left running could mount the host's /dev under it at any moment).
    if [ "$phase" = "image build" ] && ! awk -v s="$state" 'index($2, s) == 1' /proc/self/mounts | grep -q . \
        && ! pgrep -f -- "$state" >/dev/null; then
        rm -rf "$state"
    fi
    rm -rf "$tmp"
done < <(selected)

echo "points run: ${#ROWS[@]}; left in total (inventory + independent): $TOTAL"
[ "$TOTAL" -eq 0 ]
