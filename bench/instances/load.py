#!/usr/bin/env python3
"""Load for several Pathways instances: referral writes through the partner API (bearer
token), mixed with reads of referrals already written, spread round-robin over the
instances. Every acknowledged write (201 with a reference) is recorded, so a later check
can prove none was lost.

Stops after --writes acknowledged writes or --seconds, whichever comes first; prints one
JSON summary line. Standard library only.
"""

import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse


def referral(i):
    return json.dumps({
        "person": {"first_name": f"Soak{i}", "surname": "Tester", "approx_age": 15},
        "concerns": ["carrying_weapons"],
        "reason": "Load test referral.",
        "urgency": "standard",
        "consent": {"status": "given"},
        "referrer": {"name": "Load Test", "email": "load@police.example"},
    })


class Worker(threading.Thread):
    def __init__(self, n, args, shared):
        super().__init__(daemon=True)
        self.n, self.args, self.shared = n, args, shared
        self.conns = {}

    def conn(self, target):
        c = self.conns.get(target)
        if c is None:
            u = urllib.parse.urlparse(target)
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            self.conns[target] = c
        return c

    def request(self, target, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.args.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        c = self.conn(target)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, data
        except (OSError, http.client.HTTPException):
            c.close()
            self.conns.pop(target, None)
            return 0, b""

    def run(self):
        s, a = self.shared, self.args
        i = self.n
        while not s["stop"].is_set():
            target = a.targets[i % len(a.targets)]
            i += a.concurrency
            read = s["acked"] and random.random() < a.read_ratio
            started = time.monotonic()
            if read:
                ref = random.choice(s["acked"])
                status, _ = self.request(target, "GET", f"/api/v1/referrals/{ref}")
                kind = "read"
            else:
                status, data = self.request(target, "POST", "/api/v1/referrals", referral(i))
                kind = "write"
            took = time.monotonic() - started
            with s["lock"]:
                s["status"][f"{kind} {status}"] = s["status"].get(f"{kind} {status}", 0) + 1
                s["latency"][kind].append(took)
                if kind == "write" and status == 201:
                    s["acked"].append(json.loads(data)["reference"])
                    if a.writes and len(s["acked"]) >= a.writes:
                        s["stop"].set()
            if status == 0:
                time.sleep(0.05)  # the instance is down: do not spin on refused connects


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))] * 1000, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", required=True, help="comma-separated base URLs")
    ap.add_argument("--token", required=True)
    ap.add_argument("--writes", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--read-ratio", type=float, default=0.0)
    ap.add_argument("--acked", required=True, help="file receiving acknowledged references")
    args = ap.parse_args()
    args.targets = args.targets.split(",")
    shared = {"stop": threading.Event(), "lock": threading.Lock(), "acked": [],
              "status": {}, "latency": {"read": [], "write": []}}
    workers = [Worker(n, args, shared) for n in range(args.concurrency)]
    started = time.monotonic()
    for w in workers:
        w.start()
    shared["stop"].wait(args.seconds)
    shared["stop"].set()
    for w in workers:
        w.join(60)
    elapsed = time.monotonic() - started
    with open(args.acked, "w") as f:
        f.write("\n".join(shared["acked"]) + ("\n" if shared["acked"] else ""))
    w = shared["latency"]["write"]
    r = shared["latency"]["read"]
    print(json.dumps({
        "seconds": round(elapsed, 1),
        "acknowledged_writes": len(shared["acked"]),
        "writes_per_second": round(len(shared["acked"]) / elapsed, 1),
        "write_p50_ms": pct(w, 0.5), "write_p99_ms": pct(w, 0.99),
        "reads": len(r), "read_p50_ms": pct(r, 0.5), "read_p99_ms": pct(r, 0.99),
        "statuses": shared["status"],
    }))


if __name__ == "__main__":
    main()
