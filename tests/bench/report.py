#!/usr/bin/env python3
"""Turns the raw results of tests/bench/run.sh into docs/BENCHMARKS.md and a hand-written
SVG bar chart (no plotting library). Reads from --dir: meta, results, commands, the
rendered configs and server-logs."""
import argparse
import html
import os
import statistics

SERVERS = ["ours", "nginx", "lighttpd", "ceiling"]
LABEL = {"ours": "ours", "nginx": "nginx", "lighttpd": "lighttpd", "ceiling": "ceiling (epoll, in memory)"}
COLOR = {"ours": "#d9480f", "nginx": "#2b8a3e", "lighttpd": "#1971c2", "ceiling": "#868e96"}
# workload -> (title, unit, what the unit counts)
WORKLOADS = {
    "small_ka": ("small file, 64 keep-alive connections", "req/s"),
    "small_close": ("small file, new connection per request (64 at a time)", "req/s"),
    "big": ("1 MiB file, 16 keep-alive connections", "MB/s"),
    "small_ka_2core": ("small file, 64 keep-alive, server and wrk share 2 cores", "req/s"),
    "tls_small_ka": ("HTTPS: small file, 64 keep-alive connections", "req/s"),
    "tls_small_close": ("HTTPS: small file, new TLS connection per request (resumed handshakes)", "req/s"),
    "tls_big": ("HTTPS: 1 MiB file, 16 keep-alive connections", "MB/s"),
}
SHORT = {
    "small_ka": "small, keep-alive",
    "small_close": "small, new connection",
    "big": "1 MiB file (bytes/s)",
    "small_ka_2core": "small, 2 cores shared",
    "tls_small_ka": "HTTPS small, keep-alive",
    "tls_small_close": "HTTPS new connection",
    "tls_big": "HTTPS 1 MiB (bytes/s)",
}


def kv(fields):
    out = {}
    for f in fields:
        k, _, v = f.partition("=")
        out[k] = v
    return out


def load(d):
    meta = {}
    with open(os.path.join(d, "meta")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    runs, idle, crashes = {}, {}, []
    global SYSCALLS
    SYSCALLS = {}
    with open(os.path.join(d, "results")) as f:
        for line in f:
            p = line.split()
            if p[0] == "tput":
                w, s, r = p[1], p[2], int(p[3])
                runs.setdefault((w, s), []).append((r, kv(p[4:])))
            elif p[0] == "idle":
                idle[p[1]] = kv(p[2:])
            elif p[0] == "syscalls":
                SYSCALLS[(p[1], p[2])] = {k: int(v) for k, v in (x.split("=", 1) for x in p[3:])}
            elif p[0] == "crash":
                crashes.append(" ".join(p[1:]))
    commands = []
    if os.path.exists(os.path.join(d, "commands")):
        with open(os.path.join(d, "commands")) as f:
            commands = [line.rstrip("\n") for line in f]
    return meta, runs, idle, crashes, commands


SYSCALLS = {}


def value(w, r):
    secs = int(r["duration_us"]) / 1e6
    if w.endswith("big"):
        return int(r["bytes"]) / secs / 1e6
    return int(r["requests"]) / secs


def errors(r):
    return {k: int(r.get(k, 0)) for k in ("connect", "read", "write", "timeout", "status")}


def fmt(v, unit=""):
    if v is None:
        return "–"
    if v >= 100:
        s = f"{v:,.0f}"
    elif v >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + (f" {unit}" if unit else "")


def ratio(a, b):
    return a / b if a is not None and b else None


def medians(runs):
    med = {}
    for (w, s), rs in runs.items():
        med[(w, s)] = statistics.median(value(w, r) for _, r in rs)
    return med


def cpu_per_response(runs):
    """Median over the runs of the server's CPU microseconds per response."""
    out = {}
    for k, rs in runs.items():
        per = [int(r["server_cpu"]) / 100 * int(r["duration_us"]) / int(r["requests"])
               for _, r in rs if "server_cpu" in r and int(r.get("requests", 0)) > 0]
        if per:
            out[k] = statistics.median(per)
    return out


def p99s(runs):
    """Median over the runs of each run's 99th-percentile latency, in ms."""
    return {k: statistics.median(int(r["p99_us"]) / 1000 for _, r in rs) for k, rs in runs.items()}


def svg_chart(med, idle_kib, footer):
    """Grouped bars of each server's throughput relative to nginx, and a small panel of
    KiB per idle connection."""
    groups = [w for w in WORKLOADS if (w, "nginx") in med]
    W, left, top, ph = 900, 60, 50, 300
    gw = (W - left - 20) / max(len(groups), 1)
    bw = gw * 0.8 / len(SERVERS)
    rel = {(w, s): ratio(med.get((w, s)), med[(w, "nginx")]) for w in groups for s in SERVERS}
    vmax = max([v for v in rel.values() if v] + [1.0])
    ymax = max(1.5, (int(vmax * 2) + 1) / 2)  # round up to 0.5
    y = lambda v: top + ph - v / ymax * ph
    o = []
    add = o.append
    ih = 50 + 26 * len(SERVERS)
    H = top + ph + 60 + ih
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">')
    add(f'<rect width="{W}" height="{H}" fill="white"/>')
    add(f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        'Throughput relative to nginx (higher is better; nginx = 1.0)</text>')
    # legend
    lx = left
    for s in SERVERS:
        add(f'<rect x="{lx}" y="32" width="12" height="12" fill="{COLOR[s]}"/>')
        add(f'<text x="{lx + 16}" y="42">{html.escape(LABEL[s])}</text>')
        lx += 40 + 7 * len(LABEL[s])
    # grid
    t = 0.0
    while t <= ymax + 1e-9:
        add(f'<line x1="{left}" x2="{W - 20}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#dee2e6"/>')
        add(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.1f}×</text>')
        t += 0.5
    add(f'<line x1="{left}" x2="{W - 20}" y1="{y(1):.1f}" y2="{y(1):.1f}" stroke="#2b8a3e" stroke-dasharray="4 3"/>')
    for i, w in enumerate(groups):
        gx = left + i * gw + gw * 0.1
        for j, s in enumerate(SERVERS):
            v = rel.get((w, s))
            if v is None:
                continue
            x = gx + j * bw
            add(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bw - 2:.1f}" height="{top + ph - y(v):.1f}" '
                f'fill="{COLOR[s]}"><title>{html.escape(LABEL[s])}: {fmt(med[(w, s)])} '
                f'{WORKLOADS[w][1]}</title></rect>')
            add(f'<text x="{x + (bw - 2) / 2:.1f}" y="{y(v) - 4:.1f}" text-anchor="middle" font-size="10">{v:.2f}</text>')
        add(f'<text x="{left + i * gw + gw / 2:.1f}" y="{top + ph + 18}" text-anchor="middle">'
            f'{html.escape(SHORT[w])}</text>')
        add(f'<text x="{left + i * gw + gw / 2:.1f}" y="{top + ph + 33}" text-anchor="middle" fill="#495057" '
            f'font-size="10">nginx: {fmt(med[(w, "nginx")])} {WORKLOADS[w][1]}</text>')
    # idle memory panel
    iy = top + ph + 60
    add(f'<text x="{W / 2}" y="{iy + 10}" text-anchor="middle" font-size="15" font-weight="bold">'
        'Server memory per idle keep-alive connection (KiB of RSS; lower is better)</text>')
    imax = max([v for v in idle_kib.values() if v is not None] + [1.0])
    for j, s in enumerate(SERVERS):
        v = idle_kib.get(s)
        by = iy + 24 + j * 26
        add(f'<text x="{left + 130}" y="{by + 14}" text-anchor="end">{html.escape(LABEL[s])}</text>')
        if v is None:
            add(f'<text x="{left + 138}" y="{by + 14}">not measured</text>')
            continue
        bl = max(v, 0) / imax * (W - left - 260)
        add(f'<rect x="{left + 138}" y="{by}" width="{bl:.1f}" height="18" fill="{COLOR[s]}"/>')
        add(f'<text x="{left + 144 + bl:.1f}" y="{by + 14}">{v:.2f} KiB</text>')
    add(f'<text x="{W - 10}" y="{H - 8}" text-anchor="end" font-size="10" fill="#868e96">{html.escape(footer)}</text>')
    add("</svg>")
    return "\n".join(o) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    meta, runs, idle, crashes, commands = load(a.dir)
    med = medians(runs)
    get = lambda w, s: med.get((w, s))

    idle_kib, idle_note = {}, {}
    for s in SERVERS:
        r = idle.get(s)
        if not r or "after_kib" not in r:
            idle_kib[s] = None
            idle_note[s] = "failed" if r else "not run"
            continue
        opened = int(r["opened"])
        idle_kib[s] = (int(r["after_kib"]) - int(r["before_kib"])) / max(opened, 1)
        note = f"{opened} opened, {r['still_open']} still open"
        if r.get("failed", "0") != "0":
            note += f", {r['failed']} failed to open"
        if int(r["still_open"]) < opened:
            note += " (some closed early: figure understated)"
        idle_note[s] = note

    with open(a.svg, "w") as f:
        footer = (f"tests/bench/run.sh{' --quick' if meta.get('mode') == 'quick' else ''}, "
                  f"{meta.get('date', '')}, {meta.get('cpu', '')}, {meta.get('commit', '')}"
                  + (" (preliminary)" if a.note else ""))
        f.write(svg_chart(med, idle_kib, footer))

    L = []
    add = L.append
    quick = meta.get("mode") == "quick"
    add("# Benchmarks")
    add("")
    add("Generated by `tests/bench/run.sh" + (" --quick" if quick else "") + "`; do not edit by hand. "
        "Rerun it on a quiet machine to refresh this page.")
    add("")
    if a.note:
        add(f"> **{a.note}**")
        add("")
    if quick:
        add(f"> **Quick run** ({meta['runs']} run of {meta['duration']} s per server and workload): "
            "indicative only. The full run takes 5 runs of 10 s and reports medians.")
        add("")
    add(f"Our server, nginx, lighttpd and a minimal in-memory epoll responder (`tests/bench/ceiling.c`, "
        f"the transport's ceiling on this machine) serve the same fixture on 127.0.0.1. "
        f"Each server is pinned to CPU 0 and `wrk` to CPU 1 (`taskset`), except the 2-core row, "
        f"where server and `wrk` share CPUs 0-1. Each figure is the median of {meta['runs']} run(s) "
        f"of {meta['duration']} s after a 1 s warm-up; runs of the servers are interleaved so "
        f"changes in the machine's load spread over all of them.")
    add("")
    add("The HTTPS rows (ours and nginx only) use one ECDSA P-256 certificate for both; nginx has "
        "`ssl_protocols TLSv1.3`, session tickets on and a shared session cache; ours offers TLS 1.3 "
        "and 1.2 with tickets. `wrk` (OpenSSL) negotiates TLS 1.3 with both and picks the same "
        "cipher suite from its own preference list. `wrk` keeps each connection's TLS session "
        "when it reconnects (`SSL_clear` keeps it), so in the new-connection row every "
        "handshake after a connection's first resumes by ticket (a fresh X25519 exchange, no "
        "certificate or signature; under strace 228 of 230 handshakes with ours, 299 of 301 "
        "with nginx). Files go by `sendfile` in nginx only where it can: under TLS both copy "
        "through user space.")
    add("")
    add("![Throughput relative to nginx and memory per idle connection](benchmarks.svg)")
    add("")

    # --- main table
    add("## Results")
    add("")
    add("| workload | ours | nginx | lighttpd | ceiling | ours ÷ nginx | ours ÷ lighttpd | ours ÷ ceiling | target (issue 14) | met? |")
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    targets = {
        "small_ka": (">= 1.2× nginx and >= 1.0× lighttpd",
                     lambda: get("small_ka", "ours") >= 1.2 * get("small_ka", "nginx")
                     and get("small_ka", "ours") >= get("small_ka", "lighttpd")),
        "small_close": (">= 1.0× nginx and lighttpd",
                        lambda: get("small_close", "ours") >= max(get("small_close", "nginx"), get("small_close", "lighttpd"))),
        "big": (">= 1.0× lighttpd", lambda: get("big", "ours") >= get("big", "lighttpd")),
        "small_ka_2core": (">= 1.0× nginx with 2 workers", lambda: get("small_ka_2core", "ours") >= get("small_ka_2core", "nginx")),
        "tls_small_ka": (">= 1.0× nginx (issue 12)", lambda: get("tls_small_ka", "ours") >= get("tls_small_ka", "nginx")),
        "tls_small_close": (">= 1.0× nginx (issue 12)", lambda: get("tls_small_close", "ours") >= get("tls_small_close", "nginx")),
        "tls_big": (">= 1.0× nginx (issue 12)", lambda: get("tls_big", "ours") >= get("tls_big", "nginx")),
    }

    def yn(fn):
        try:
            return "yes" if fn() else "**no**"
        except TypeError:
            return "–"

    for w, (title, unit) in WORKLOADS.items():
        if not any((w, s) in med for s in SERVERS):
            continue
        o, n, l, c = (get(w, s) for s in SERVERS)
        t, fn = targets[w]
        r = lambda x, y: "–" if ratio(x, y) is None else f"{ratio(x, y):.2f}×"
        add(f"| {title} ({unit}) | {fmt(o)} | {fmt(n)} | {fmt(l)} | {fmt(c)} | {r(o, n)} | {r(o, l)} | {r(o, c)} | {t} | {yn(fn) if fn else ''} |")
    if get("small_ka_2core", "ours") and get("small_ka", "ours"):
        sc = {s: ratio(get("small_ka_2core", s), get("small_ka", s)) for s in SERVERS}
        f = lambda s: "–" if sc[s] is None else f"{sc[s]:.2f}×"
        met = yn(lambda: sc["ours"] >= sc["nginx"])
        add(f"| 2-core scaling: 2-core ÷ 1-core small keep-alive | {f('ours')} | {f('nginx')} (2 workers) | "
            f"{f('lighttpd')} (1 process) | {f('ceiling')} (1 thread) | {ratio(sc['ours'], sc['nginx']) or 0:.2f}× | "
            f"{ratio(sc['ours'], sc['lighttpd']) or 0:.2f}× | | >= nginx's scaling | {met} |")
    ik = idle_kib
    fk = lambda v: "failed" if v is None else f"{v:.2f}"
    rk = lambda x, y: "–" if ratio(x, y) is None else f"{ratio(x, y):.2f}×"
    add(f"| {meta['idle_count']} idle keep-alive connections (KiB of RSS per connection; lower is better) | "
        f"{fk(ik['ours'])} | {fk(ik['nginx'])} | {fk(ik['lighttpd'])} | {fk(ik['ceiling'])} | "
        f"{rk(ik['ours'], ik['nginx'])} | {rk(ik['ours'], ik['lighttpd'])} | {rk(ik['ours'], ik['ceiling'])} | "
        f"<= 0.5 KiB | {yn(lambda: ik['ours'] <= 0.5)} |")
    add("")
    add("Ratios are ours divided by the other server: above 1.0 is better for throughput, below "
        "1.0 is better for memory. MB/s counts 10^6 bytes of response (head and body) per second, "
        "as `wrk` reads them.")
    add("")
    add("**Reading the 2-core row.** With two cores, the server and `wrk` (2 threads) compete for "
        "the same CPUs, and loopback TCP work lands on whichever core sends. So the 2-core ÷ 1-core "
        "ratio is not the server's scaling alone: lighttpd (one process) and the ceiling (one "
        "thread) cannot use a second core, so any change in their figure comes from `wrk` and "
        "the kernel getting more CPU (or, with other work on the machine, less). Compare ours "
        "with nginx (2 workers) against that baseline.")
    add("")

    # --- p99 latency
    p99 = p99s(runs)
    add("### 99th-percentile latency")
    add("")
    add("| workload | ours | nginx | lighttpd | ceiling | target (issue 14) | met? |")
    add("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for w, (title, unit) in WORKLOADS.items():
        cells = [p99.get((w, sv)) for sv in SERVERS]
        if cells[0] is None:
            continue
        shown = " | ".join("–" if c is None else f"{c:.2f} ms" for c in cells)
        met = "–" if cells[1] is None else ("yes" if cells[0] <= cells[1] else "**no**")
        add(f"| {title} | {shown} | no worse than nginx | {met} |")
    add("")
    add("Each figure is the median over the runs of `wrk`'s 99th percentile for the run "
        "(lower is better).")
    add("")

    # --- server CPU per response
    add("### Server CPU per response")
    add("")
    add("| workload | ours | nginx | lighttpd | ceiling | ours ÷ nginx | ours ÷ lighttpd |")
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    cpu = cpu_per_response(runs)
    for w, (title, unit) in WORKLOADS.items():
        cells = [cpu.get((w, sv)) for sv in SERVERS]
        if cells[0] is None:
            continue
        shown = " | ".join("–" if c is None else f"{c:.1f} µs" for c in cells)
        ratios = " | ".join("–" if c is None else f"{cells[0] / c:.2f}×" for c in cells[1:3])
        add(f"| {title} | {shown} | {ratios} |")
    add("")
    add("The server's CPU time (user and system, as in Every run) divided by the responses "
        "`wrk` counted, median over the runs; lower is better, and below 1.0 is better in the "
        "ratios. Where `wrk` is the bottleneck (its CPU near 100 %) throughput says how much "
        "work a server leaves to the client, and this says what it spends itself. On "
        "loopback the kernel's work for a packet lands on the sending side's core, so a "
        "server that sends more packets is charged for more of it.")
    add("")

    # --- system calls per request
    if SYSCALLS:
        add("### System calls per response")
        add("")
        tool = meta.get("syscall_tool", "strace")
        how = ("`perf stat` on the kernel's syscall tracepoints" if tool == "perf" else
               "`strace -c -f` (which slows every call: a server then waits less often and may "
               "read more per wait than under the timed runs)")
        add(f"Counted with {how}, attached for 3 s in the middle of a 6 s `wrk` run of the "
            "same workload (phase 1b; those runs give no throughput). A response is counted as "
            "its head's write: the most of `sendto`, `writev`, `write` and `sendmsg` (with a new "
            "connection per request, that is one per connection). "
            "`tests/e2e/syscalls.rs` holds ours to its counts in `cargo test`.")
        add("")
        names = ["recvfrom", "read", "sendto", "writev", "sendfile", "epoll_ctl", "epoll_wait",
                 "epoll_pwait", "timerfd_settime", "futex", "newfstatat", "statx", "ioctl", "openat",
                 "openat2", "close", "shutdown", "setsockopt", "accept4"]
        for w in ("small_ka", "small_close", "big"):
            rows = [(sv, SYSCALLS[(w, sv)]) for sv in SERVERS if (w, sv) in SYSCALLS]
            if not rows:
                continue
            used = [n for n in names if any(c.get(n, 0) for _, c in rows)]
            add(f"**{WORKLOADS[w][0]}**")
            add("")
            add("| server | responses counted | " + " | ".join(f"`{n}`" for n in used) + " | total |")
            add("| --- | ---: | " + " | ".join("---:" for _ in used) + " | ---: |")
            for sv, c in rows:
                resp = max(c.get(k, 0) for k in ("sendto", "writev", "write", "sendmsg")) or 1
                cells = " | ".join(f"{c.get(n, 0) / resp:.2f}" for n in used)
                total = sum(c.get(n, 0) for n in names) / resp
                add(f"| {LABEL[sv]} | {resp:,} | {cells} | {total:.2f} |")
            add("")

    # --- share of the ceiling
    add("### Share of the transport ceiling")
    add("")
    add("| workload | ours | nginx | lighttpd |")
    add("| --- | ---: | ---: | ---: |")
    for w, (title, unit) in WORKLOADS.items():
        c = get(w, "ceiling")
        if not c:
            continue
        cells = " | ".join("–" if get(w, s) is None else f"{get(w, s) / c * 100:.0f} %" for s in SERVERS[:3])
        add(f"| {title} | {cells} |")
    add("")
    add("The ceiling answers from memory with one `write` per request and no file system work; "
        "it is single-threaded, so it does not scale in the 2-core row. For the 1 MiB file it "
        "copies the body into the socket with `write` where the servers use `sendfile`, so it is "
        "a reference there rather than a strict ceiling. With one `wrk` thread on "
        "one core, the ceiling is also bounded by the load generator: a server close to 100 % "
        "is limited by `wrk`, not by itself. Above 100 % means the ceiling's own run was "
        "disturbed (see other programs' CPU under Every run) or the load generator limits all.")
    add("")

    # --- idle memory detail
    add("### Idle connections")
    add("")
    add("| server | RSS before (KiB) | RSS after (KiB) | KiB per connection | connections |")
    add("| --- | ---: | ---: | ---: | --- |")
    for s in SERVERS:
        r = idle.get(s, {})
        add(f"| {LABEL[s]} | {r.get('before_kib', '–')} | {r.get('after_kib', '–')} | {fk(ik[s])} | {idle_note[s]} |")
    add("")
    add(f"`tests/bench/idle.py` opens {meta['idle_count']} connections one after another; on each it "
        "sends one `GET /HelloWorld.html` and reads the whole response, then leaves it idle. RSS is "
        "`VmRSS` from `/proc/PID/status` of the server process (nginx: its single process, "
        "`master_process off`), read after one warm-up request and again 1 s after the last "
        "connection is open. Kernel socket buffers are not in RSS and not counted.")
    add("")

    # --- HTTP/2 (h2load.sh's table, when run.sh ran it)
    h2 = os.path.join(a.dir, "h2load.md")
    if os.path.exists(h2):
        add("### HTTP/2 over TLS (h2load)")
        add("")
        with open(h2) as f:
            for line in f.read().strip().splitlines():
                add(line)
        add("")
        add("`tests/bench/h2load.sh`: our server and nginx (`listen ... ssl http2`, the same P-256 "
            "certificate, TLS 1.3), each pinned to CPU 0, h2load on CPU 1. The page workload asks "
            "each connection for 30 different small files (`/img1.svg` to `/img30.svg`) in turn.")
        add("")

    # --- raw runs and errors
    add("### Every run")
    add("")
    add("| workload | server | run | req/s | MB/s | p50 latency | p99 latency | server CPU | wrk CPU | other programs' CPU | socket errors (connect/read/write/timeout) | non-2xx |")
    add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    problems = []
    for w in WORKLOADS:
        for s in SERVERS:
            for run, r in sorted(runs.get((w, s), [])):
                secs = int(r["duration_us"]) / 1e6
                e = errors(r)
                if r.get("failed"):
                    problems.append(f"{w} {s} run {run}: wrk printed no summary")
                if any(e.values()):
                    problems.append(f"{w} {s} run {run}: " + ", ".join(f"{k} {v}" for k, v in e.items() if v))
                add(f"| {w} | {s} | {run} | {fmt(int(r['requests']) / secs)} | {fmt(int(r['bytes']) / secs / 1e6)} | "
                    f"{int(r['p50_us']) / 1000:.2f} ms | {int(r['p99_us']) / 1000:.2f} ms | "
                    f"{r.get('server_cpu', '–')} % | {r.get('wrk_cpu', '–')} % | {r.get('other_cpu', '–')} % | "
                    f"{e['connect']}/{e['read']}/{e['write']}/{e['timeout']} | {e['status']} |")
    add("")
    if crashes:
        problems += [f"server died: {c}" for c in crashes]
    add("Server CPU and wrk CPU: CPU time (user + system) used during the run, as a share of one "
        "core (100 % = one core busy all the time; up to 200 % in the 2-core rows). In the "
        "one-core rows a server well under 100 % was waiting for `wrk` or for the kernel's "
        "loopback work (softirq time, which Linux does not charge to either process). Other "
        "programs' CPU is the busy time on CPUs 0-1 that was none of these: other work on the "
        "machine. Well above a few %, that run competed with it and its figure is low.")
    add("")
    add("**Errors seen:** " + ("none (no socket errors, no non-2xx responses, no crash)." if not problems else ""))
    for p in problems:
        add(f"- {p}")
    add("")
    add("With `Connection: close`, wrk counts a read error when the server closes the connection "
        "before wrk has read its response; an occasional one there is the close racing wrk, many "
        "are worth a look.")
    add("")

    # --- machine
    add("## Machine and versions")
    add("")
    add("| | |")
    add("| --- | --- |")
    for k, label in [("date", "date"), ("cpu", "CPU"), ("cores", "cores"), ("memory", "memory"),
                     ("kernel", "kernel"), ("nginx", "nginx"), ("lighttpd", "lighttpd"), ("wrk", "wrk"),
                     ("rustc", "rustc"), ("gcc", "gcc (ceiling)"), ("tls", "TLS libraries"),
                     ("commit", "our commit"),
                     ("nofile", "open-file limit"), ("load_start", "load average at start"),
                     ("load_end", "load average at end"), ("elapsed", "run time (s)")]:
        v = meta.get(k, "")
        if k == "commit" and meta.get("server_bin"):
            v += f" (but our server was a prebuilt binary, `{meta['server_bin']}`, not built from it)"
        elif k == "commit" and meta.get("dirty_server", "0") != "0":
            v += f" (with {meta['dirty_server']} uncommitted change(s) under server/, shared/ or Cargo.lock)"
        add(f"| {label} | {v} |")
    others = [int(r["other_cpu"]) for rs in runs.values() for _, r in rs if "other_cpu" in r]
    if others:
        add(f"| other programs' CPU on CPUs 0-1 during the runs | median {statistics.median(others):.0f} %, "
            f"max {max(others)} % of one core |")
    add("")
    add("A load average near or above the core count, or other programs' CPU well above a few %, "
        "means other work shared the machine during the run, and the figures are noisy.")
    add("")

    # --- commands and configs
    add("## How it was run")
    add("")
    add("```sh")
    add("tests/bench/run.sh" + (" --quick" if quick else "") + "   # builds, starts, measures, writes this page")
    add("```")
    add("")
    add("Servers (`$TMP` is the temporary folder the script makes):")
    add("")
    add("```sh")
    phases = {"0": "# one core: the throughput workloads", "1": "# two cores",
              "2": "# idle connections, one fresh server at a time", "3": "# HTTPS, one core"}
    tmp, repo = meta.get("tmp", a.dir).rstrip("/"), a.repo.rstrip("/")
    clean = lambda c: c.replace(tmp, "$TMP").replace(repo + "/", "")
    for c in commands:
        if c.startswith("start "):
            _, phase, _, cmd = c.split(" ", 3)
            if phase in phases:
                add(phases.pop(phase))
            add(clean(cmd))
    add("```")
    add("")
    add("Load (`summary.lua` only prints a machine-readable line at the end; the other servers "
        "get the same command on their own port):")
    add("")
    add("```sh")
    for c in commands:
        p = c.split(" ", 3)
        if p[0] == "wrk" and p[2] == "ours":
            add(f"# {p[1]}")
            add(clean(p[3]))
        elif p[0] == "idle":
            add("# idle")
            add(clean(p[2] + " " + p[3] if len(p) > 3 else p[2]))
    add("```")
    add("")
    add("Fixture: `HelloWorld.html` (a copy of `www/HelloWorld.html`) and `big.bin` (1 MiB of random "
        "bytes) in a temporary folder. Before measuring, each server's answer to both is checked "
        "byte for byte. Our server runs with `--quiet` (no access log); `--max-connections` is "
        "raised so it holds the idle connections, as the others are configured to.")
    add("")
    for name, title in [("nginx-1w.conf", "nginx, one core (`master_process off`, one process)"),
                        ("nginx-2w.conf", "nginx, two cores (`master_process on`, 2 workers)"),
                        ("nginx-tls-1w.conf", "nginx, HTTPS, one core"),
                        ("lighttpd.conf", "lighttpd")]:
        path = os.path.join(a.dir, name)
        if os.path.exists(path):
            add(f"<details><summary>{title}</summary>")
            add("")
            add("```nginx" if name.startswith("nginx") else "```")
            with open(path) as f:
                add(clean(f.read()).rstrip())
            add("```")
            add("")
            add("</details>")
            add("")
    logs = os.path.join(a.dir, "server-logs")
    if os.path.exists(logs):
        add("<details><summary>What the servers printed (last lines)</summary>")
        add("")
        add("```text")
        with open(logs) as f:
            add(clean(f.read()).rstrip())
        add("```")
        add("")
        add("</details>")
        add("")

    with open(a.md, "w") as f:
        f.write("\n".join(L))
    # A short summary on stdout.
    for w, (title, unit) in WORKLOADS.items():
        print(f"{w:16} " + "  ".join(f"{s}={fmt(get(w, s))}" for s in SERVERS) + f"  ({unit})")
    print(f"{'idle KiB/conn':16} " + "  ".join(f"{s}={fk(ik[s])}" for s in SERVERS))
    for p in problems:
        print("problem:", p)


if __name__ == "__main__":
    main()
