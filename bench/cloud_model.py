#!/usr/bin/env python3
"""Models the wall time of a forced graph on N cloud functions.

Input: a trace written by `gg force --trace FILE` (Chrome trace events; each
event's args carry the thunk's name and the thunks it depended on). The
model replays the graph with list scheduling on N function slots:

  start(t)  = max(finish(d) for d in deps(t)), once a slot is free
  finish(t) = start(t) + latency + cold_start (first use of a slot)
              + run(t) * speed + io_bytes / bandwidth

where run(t) is the measured run phase on this machine. It prints the
measured local wall time, the modelled wall time and their ratio, with
every parameter stated.

usage: bench/cloud_model.py TRACE.json [--functions 1000] [--cold-start 0.25]
       [--latency 0.03] [--bandwidth-mbps 600] [--io-bytes 2000000] [--speed 1.0]
"""
import argparse
import heapq
import json
import sys


def load(path):
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    runs, deps, first, last = {}, {}, None, None
    for e in events:
        a = e.get("args", {})
        name = a.get("thunk", e["name"])
        start, end = e["ts"] / 1e6, (e["ts"] + e["dur"]) / 1e6
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
        if e["cat"] == "run":
            runs[name] = runs.get(name, 0.0) + e["dur"] / 1e6
        deps.setdefault(name, set()).update(a.get("deps", []))
    return runs, deps, (last - first) if first is not None else 0.0


def model(runs, deps, n, cold, latency, bw_bytes, io_bytes, speed):
    names = list(runs)
    pending = {t: {d for d in deps.get(t, ()) if d in runs} for t in names}
    users = {}
    for t, ds in pending.items():
        for d in ds:
            users.setdefault(d, []).append(t)
    ready = [(0.0, t) for t in names if not pending[t]]
    heapq.heapify(ready)
    slots = []  # (free_at, slot_id, used)
    free_new = n
    finish = {}
    events = []  # (finish_time, thunk)
    clock = 0.0
    done = 0
    while done < len(names):
        while ready:
            at, t = heapq.heappop(ready)
            if slots and slots[0][0] <= max(at, clock):
                free_at, sid, _ = heapq.heappop(slots)
                start, extra = max(at, free_at), 0.0
            elif free_new > 0:
                free_new -= 1
                start, extra, sid = at, cold, n - free_new
            elif slots:
                free_at, sid, _ = heapq.heappop(slots)
                start, extra = max(at, free_at), 0.0
            else:
                raise SystemExit("no slots")
            end = start + extra + latency + runs[t] * speed + io_bytes / bw_bytes
            heapq.heappush(events, (end, t, sid))
        end, t, sid = heapq.heappop(events)
        clock = end
        heapq.heappush(slots, (end, sid, True))
        finish[t] = end
        done += 1
        for u in users.get(t, []):
            pending[u].discard(t)
            if not pending[u]:
                heapq.heappush(ready, (max(finish[d] for d in deps[u] if d in finish) if deps[u] else 0.0, u))
    return max(finish.values()) if finish else 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--functions", type=int, default=1000)
    p.add_argument("--cold-start", type=float, default=0.25, help="seconds, first use of a function")
    p.add_argument("--latency", type=float, default=0.03, help="seconds per invocation")
    p.add_argument("--bandwidth-mbps", type=float, default=600.0, help="per function, megabits/s")
    p.add_argument("--io-bytes", type=float, default=2e6, help="bytes moved per thunk (inputs not cached + outputs)")
    p.add_argument("--speed", type=float, default=1.0, help="function CPU time / this machine's")
    a = p.parse_args()
    runs, deps, wall = load(a.trace)
    if not runs:
        sys.exit(f"cloud_model: {a.trace}: no run events")
    edges = sum(len([d for d in ds if d in runs]) for ds in deps.values())
    if edges == 0:
        print("cloud_model: note: the trace has no dependency edges; every thunk is treated as independent")
    total = sum(runs.values())
    m = model(runs, deps, a.functions, a.cold_start, a.latency, a.bandwidth_mbps * 1e6 / 8, a.io_bytes, a.speed)
    crit = model(runs, deps, len(runs) + 1, 0.0, 0.0, 1e30, 0.0, a.speed)
    print(f"trace {a.trace}: {len(runs)} thunks, {edges} dependency edges, {total:.2f} s of run time")
    print(f"parameters: {a.functions} functions, cold start {a.cold_start} s, latency {a.latency} s/invocation,")
    print(f"            {a.bandwidth_mbps} Mbit/s per function, {a.io_bytes / 1e6:.1f} MB moved per thunk, speed x{a.speed}")
    print(f"  measured here (local engine)   {wall:8.2f} s   (baseline)")
    print(f"  critical path alone            {crit:8.2f} s   ratio {crit / wall:.2f}x")
    print(f"  modelled on {a.functions} functions   {m:8.2f} s   ratio {m / wall:.2f}x")


if __name__ == "__main__":
    main()
