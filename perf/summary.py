#!/usr/bin/env python3
"""Summarise perf/run.sh results: min/median/max rx Mpps per scenario and
DUT, and the lvsd/testpmd ratio of the paired (same run) measurements.

A DUT start with several generator sessions (run.sh -k) counts with its
best session (the memif placement lottery, see run.sh); the ratio of the
first sessions alone and the spread of all sessions are printed too.

    python3 perf/summary.py perf/results/<stamp>.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    all_rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    # One row per (scenario, DUT, run): its best session.
    best = {}
    sessions = defaultdict(list)
    for r in all_rows:
        k = (r["scenario"], r["dut"], r["run"])
        sessions[k].append(r)
        if k not in best or r["rx_mpps"] > best[k]["rx_mpps"]:
            best[k] = r
    rows = [r for r in all_rows if best[(r["scenario"], r["dut"], r["run"])] is r]
    by = defaultdict(list)
    pair = defaultdict(dict)
    order = []
    for r in rows:
        k = (r["scenario"], r["dut"])
        if r["scenario"] not in order:
            order.append(r["scenario"])
        by[k].append(r)
        pair[(r["scenario"], r["run"])][r["dut"]] = r

    def mmm(vals):
        if not vals:
            return "-"
        return "%.2f/%.2f/%.2f" % (min(vals), statistics.median(vals), max(vals))

    print()
    hdr = "%-13s %-8s %-20s %-20s %-16s %-9s %-9s %-8s" % (
        "scenario", "baseline", "testpmd Mpps", "lvsd Mpps", "ratio", "lvsd p50", "lvsd p99", "lvsd loss")
    print(hdr)
    print("%-13s %-8s %-20s %-20s %-16s %-9s %-9s %-8s" % (
        "", "", "min/med/max", "min/med/max", "min/med/max", "us(med)", "us(med)", "(med)"))
    print("-" * len(hdr))
    for s in order:
        tp = by.get((s, "testpmd"), [])
        lv = by.get((s, "lvsd"), [])
        mode = tp[0]["mode"] if tp else "-"
        ratios = []
        for (sc, run), d in pair.items():
            if sc == s and "testpmd" in d and "lvsd" in d and d["testpmd"]["rx_mpps"] > 0:
                ratios.append(d["lvsd"]["rx_mpps"] / d["testpmd"]["rx_mpps"])

        def med(key):
            v = [r[key] for r in lv if r.get(key) is not None]
            return "%.1f" % statistics.median(v) if v else "-"

        loss = [r["loss_ratio"] for r in lv]
        print("%-13s %-8s %-20s %-20s %-16s %-9s %-9s %-8s" % (
            s, mode, mmm([r["rx_mpps"] for r in tp]), mmm([r["rx_mpps"] for r in lv]),
            mmm(ratios), med("lat_p50_us"), med("lat_p99_us"),
            "%.4f" % statistics.median(loss) if loss else "-"))
    # Several sessions per DUT start: the first sessions' ratio (what a
    # single connection per start gives) and every session's rate.
    for s in order:
        multi = [v for (sc, _, _), v in sessions.items() if sc == s and len(v) > 1]
        if not multi:
            continue
        first = []
        runs = sorted({run for (sc, _, run) in sessions if sc == s})
        for run in runs:
            t = sessions.get((s, "testpmd", run), [])
            l = sessions.get((s, "lvsd", run), [])
            t1 = [r for r in t if r.get("session", 1) == 1]
            l1 = [r for r in l if r.get("session", 1) == 1]
            if t1 and l1 and t1[0]["rx_mpps"] > 0:
                first.append(l1[0]["rx_mpps"] / t1[0]["rx_mpps"])
        print("%s: %d sessions per start; ratio of first sessions min/med/max %s" % (
            s, max(len(v) for v in multi), mmm(first)))
        for dut in ("testpmd", "lvsd"):
            per = ["/".join("%.2f" % r["rx_mpps"] for r in sorted(
                sessions.get((s, dut, run), []), key=lambda r: r.get("session", 1))) for run in runs]
            print("  %s Mpps by run (session 1/2/...): %s" % (dut, "  ".join(per)))
    # Config variants ("<scenario>-<variant>", e.g. dr-est-1k-hc): lvsd with
    # the variant against lvsd without it, paired by run.
    for s in order:
        base = s.rsplit("-", 1)[0]
        if base == s or base not in order:
            continue
        rs = []
        for (sc, run), d in pair.items():
            b = pair.get((base, run), {}).get("lvsd")
            if sc == s and "lvsd" in d and b and b["rx_mpps"] > 0:
                rs.append(d["lvsd"]["rx_mpps"] / b["rx_mpps"])
        if rs:
            print("variant %s vs %s: lvsd Mpps ratio min/med/max %s" % (s, base, mmm(rs)))
        cv = [r["worker_cycles_per_packet"] for r in by.get((s, "lvsd"), []) if "worker_cycles_per_packet" in r]
        cb = [r["worker_cycles_per_packet"] for r in by.get((base, "lvsd"), []) if "worker_cycles_per_packet" in r]
        if cv and cb:
            print("  worker cycles/packet min/med/max: %s %s, %s %s; ratio of medians %.2f" % (
                s, mmm(cv), base, mmm(cb), statistics.median(cv) / statistics.median(cb)))
            # The worker's own packet rate: packets per second of its busy
            # time (TSC cycles of loop iterations that found work), whatever
            # the generator on the other CPU managed to offer.
            def wr(rows):
                return [r["tsc_hz"] / r["worker_cycles_per_packet"] / 1e6 for r in rows
                        if r.get("worker_cycles_per_packet") and r.get("tsc_hz")]
            wv, wb = wr(by.get((s, "lvsd"), [])), wr(by.get((base, "lvsd"), []))
            pr = []
            for (sc, run), d in pair.items():
                b = pair.get((base, run), {}).get("lvsd")
                if sc == s and "lvsd" in d and b and d["lvsd"].get("worker_cycles_per_packet") \
                        and b.get("worker_cycles_per_packet"):
                    pr.append(b["worker_cycles_per_packet"] / d["lvsd"]["worker_cycles_per_packet"])
            if wv and wb:
                print("  worker packet rate while busy (Mpps) min/med/max: %s %s, %s %s; per-run ratio %s" % (
                    s, mmm(wv), base, mmm(wb), mmm(pr)))
        # Share of the worker's busy cycles spent in the kernel exception
        # path's device calls: what the checks' traffic costs the worker
        # itself, independent of the generator sharing a CPU with the checker.
        def ks(rows):
            return [100.0 * r["worker_kernel_cycles"] / r["worker_busy_cycles"] for r in rows
                    if r.get("worker_busy_cycles")]
        kv, kb = ks(by.get((s, "lvsd"), [])), ks(by.get((base, "lvsd"), []))
        if kv and kb:
            print("  worker busy cycles in the kernel exception path (%%) min/med/max: %s %s, %s %s" % (
                s, mmm(kv), base, mmm(kb)))
    # New connections per second (SYN scenarios): lvsd's own count of the
    # connections it created, over the generator's measured seconds.
    for s in order:
        lv = [r for r in by.get((s, "lvsd"), []) if float(r.get("syn_share", 0)) > 0
              and "lvsd_conns_created" in r and r["secs"] > 0]
        if lv:
            rate = [(r["lvsd_conns_created"] - r.get("warm_rx", 0)) / r["secs"] / 1e6 for r in lv]
            drops = sorted({r.get("lvsd_drops", "") for r in lv} - {""})
            print("%s: new connections/s on one worker (M) min/med/max %s%s" % (
                s, mmm(rate), "; lvsd drops: " + " | ".join(drops) if drops else ""))
    # Paced scenarios: latency of both DUTs at the same offered rate, and
    # what lvsd adds to the baseline's (same run).
    for s in order:
        tp = by.get((s, "testpmd"), [])
        lv = by.get((s, "lvsd"), [])
        if not tp or not lv or not any(int(r.get("rate_target", 0)) > 0 for r in lv):
            continue
        add50, add99 = [], []
        for (sc, run), d in pair.items():
            if sc == s and "testpmd" in d and "lvsd" in d:
                if d["lvsd"].get("lat_p99_us") is not None and d["testpmd"].get("lat_p99_us") is not None:
                    add50.append(d["lvsd"]["lat_p50_us"] - d["testpmd"]["lat_p50_us"])
                    add99.append(d["lvsd"]["lat_p99_us"] - d["testpmd"]["lat_p99_us"])
        rates = sorted({int(r["rate_target"]) for r in lv})
        probes = [r["probe_rx_mpps"] for r in lv if r.get("probe_rx_mpps") is not None]
        if probes:
            print("%s: lvsd's full-speed probe on the measured connection (Mpps) min/med/max %s" % (
                s, mmm(probes)))
        print("%s (paced at %s pps): p50 us testpmd %s lvsd %s; p99 us testpmd %s lvsd %s; "
              "added by lvsd (same run) p50 %s p99 %s" % (
                  s, "/".join(str(x) for x in rates),
                  mmm([r["lat_p50_us"] for r in tp]), mmm([r["lat_p50_us"] for r in lv]),
                  mmm([r["lat_p99_us"] for r in tp]), mmm([r["lat_p99_us"] for r in lv]),
                  mmm(add50), mmm(add99)))
    print()
    print("Mpps = frames received back by the generator per second of TX "
          "(64 B unless the scenario says otherwise); ratio = lvsd/testpmd in the same run.")


if __name__ == "__main__":
    main(sys.argv[1])
