#!/usr/bin/env python3
"""Print bench/compare.sh's table from its per-run rows (TSV: input, tool, rc, wall, user, sys,
peak RSS in KB, findings): medians per input and tool, and detek's time as a ratio of each peer's.

    compare_table.py RESULTS.tsv [TIMEOUT_S [DETEK_TIMEOUT_S]] [--markdown]
"""
import statistics
import sys

NAMES = {
    "detek": "detek",
    "detek-1core": "detek, 1 core",
    "kube-score": "kube-score",
    "checkov": "checkov",
    "trivy": "trivy config",
    "kubectl-raw": "floor: kubectl get --raw, 4 at a time",
    "kakao-detek": "kakao/detek",
    "popeye": "Popeye",
}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    path = args[0]
    timeout = args[1] if len(args) > 1 else "?"
    detek_timeout = args[2] if len(args) > 2 else timeout
    rows = {}
    order = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        key = (f[0], f[1])
        if f[0] not in order:
            order.append(f[0])
        rows.setdefault(key, []).append(f)

    def summary(runs, tool):
        done = [r for r in runs if r[2] not in ("timeout", "skipped", "failed") and r[3]]
        if not done:
            state = runs[0][2]
            limit = detek_timeout if tool.startswith("detek") else timeout
            text = {"timeout": f"timed out after {limit} s", "failed": "failed (see notes)"}
            return {"text": text.get(state, "skipped (see notes)")}
        wall = statistics.median(float(r[3]) for r in done)
        cpu = statistics.median(float(r[4]) + float(r[5]) for r in done)
        rss = statistics.median(int(r[6]) for r in done) / 1024
        findings = sorted({r[7] for r in done})
        timeouts = sum(1 for r in runs if r[2] == "timeout")
        return {
            "wall": wall,
            "n": len(done),
            "text": None,
            "cpu": cpu,
            "rss": rss,
            "findings": "/".join(findings),
            "note": f", {timeouts} timed out" if timeouts else "",
            "refused": any(x.startswith("refused") for x in findings),
        }

    header = ["input", "tool", "runs", "wall s", "CPU s", "peak RSS MB", "findings",
              "detek/peer wall", "detek 1-core/peer wall"]
    table = []
    for inp in order:
        tools = [t for (i, t) in rows if i == inp]
        sums = {t: summary(rows[(inp, t)], t) for t in tools}
        d, d1 = sums.get("detek"), sums.get("detek-1core")
        for t in tools:
            s = sums[t]
            if s.get("text"):
                # A peer stopped at the timeout: detek's ratio is below detek / timeout.
                bound = ["", ""]
                if s["text"].startswith("timed out") and not t.startswith("detek"):
                    for k, x in enumerate((d, d1)):
                        if x and not x.get("text") and not x["refused"] and timeout != "?":
                            bound[k] = f"< {x['wall'] / float(timeout):.3f}"
                table.append([inp, NAMES.get(t, t), "", s["text"], "", "", "", *bound])
                continue
            r_wall = r_one = ""
            if not t.startswith("detek") and s["wall"] > 0:
                if d and not d.get("text") and not d["refused"]:
                    r_wall = f"{d['wall'] / s['wall']:.2f}"
                if d1 and not d1.get("text") and not d1["refused"]:
                    r_one = f"{d1['wall'] / s['wall']:.2f}"
            table.append([inp, NAMES.get(t, t), f"{s['n']}{s['note']}", f"{s['wall']:.2f}",
                          f"{s['cpu']:.2f}", f"{s['rss']:.0f}", s["findings"], r_wall, r_one])
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        last = None
        for r in table:
            cells = list(r)
            if cells[0] == last:
                cells[0] = ""
            else:
                last = cells[0]
            print("| " + " | ".join(cells) + " |")
        return
    widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
    widths[0] = min(widths[0], 48)
    last = None
    for r in [header] + table:
        cells = list(r)
        if cells[0] == last:
            cells[0] = ""
        else:
            last = cells[0]
        print("  ".join(str(c)[: widths[i]].ljust(widths[i]) if i in (0, 1, 6) else str(c).rjust(widths[i])
                        for i, c in enumerate(cells)))
    print("ratios: detek's median wall time / the peer's (below 1: detek is faster); "
          "'1 core': detek pinned to one CPU, one rayon thread, one tokio worker")


if __name__ == "__main__":
    main()
