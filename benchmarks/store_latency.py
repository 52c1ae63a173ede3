"""/session latency with the store on SQLite and on PostgreSQL, side by side in one run.

    .venv/bin/python benchmarks/store_latency.py [--requests 400] [--warmup 40]

Needs the service's models in the BentoML store (`make bento-models`) and Debian's PostgreSQL
(`make setup`). Starts the service (`bentoml serve serving.service:EmoHeal`) twice, one at a time:
first on a fresh SQLite store (`EMOHEAL_STORE_FILE`), then on a fresh PostgreSQL server on loopback
(`EMOHEAL_STORE_URL`, a throwaway cluster: tests/pg_server.py). Each time it makes 8 profiles
(POST /users), warms up, then sends POST /session with a profile's token from 8 concurrent clients
(keep-alive, back to back): each personalised session reads the person's recent items and ratings
and writes the session and its monitoring record — the store's whole path. It also rates every
stage of each answered session (POST /feedback, 8 clients). Reports p50/p90/p99 and requests/s
per store, the PostgreSQL-to-SQLite ratio of the /session p99 (goal: at most 1.5) and checks that
every answered /session left exactly one record. Writes benchmarks/results/store_latency.json;
a missed goal prints FAIL (the exit code stays 0: a measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serving_latency import TEXTS, Server, free_port, machine, percentiles, service_env, tool  # noqa: E402

from tests.pg_server import postgres  # noqa: E402  (the same throwaway server the tests start)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "store_latency.json"
GOAL_RATIO = 1.5
CLIENTS = 8


async def _load(base: str, tokens: list[str], requests: int, make) -> tuple[dict, list[dict]]:
    """`requests` calls from CLIENTS workers, worker k with token k; `make(i)` -> (method, path, json)."""
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    latencies, statuses, bodies = [], Counter(), []
    counter = itertools.count()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        start = time.perf_counter()

        async def worker(k: int):
            headers = {"Authorization": f"Bearer {tokens[k]}"}
            while (i := next(counter)) < requests:
                method, path, body = make(i)
                t0 = time.perf_counter()
                r = await client.request(method, path, json=body, headers=headers)
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                    bodies.append({**r.json(), "_token": k})

        await asyncio.gather(*(worker(k) for k in range(CLIENTS)))
        wall = time.perf_counter() - start
    return ({"requests": sum(statuses.values()), "errors": sum(n for s, n in statuses.items() if s != 200),
             "seconds": round(wall, 2), "throughput_rps": round(len(latencies) / wall, 1),
             **percentiles(latencies)}, bodies)


def _records(url: str, request_ids: set[str]) -> Counter:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT request_id FROM records")).scalars().all()
    finally:
        engine.dispose()
    return Counter(r for r in rows if r in request_ids)


def measure(name: str, env: dict, store_url: str, tmp: Path, args) -> dict:
    port = free_port()
    server = Server(f"service ({name})", [tool("bentoml"), "serve", "serving.service:EmoHeal", "--host",
                                          "127.0.0.1", "--port", str(port)], env, tmp / f"{name}.log", port)
    server.start()
    try:
        tokens = [httpx.post(f"{server.base}/users").raise_for_status().json()["token"] for _ in range(CLIENTS)]

        def session(i: int):
            return "POST", "/session", {"text": TEXTS[i % len(TEXTS)], "goal": "sleep"}

        asyncio.run(_load(server.base, tokens, args.warmup, session))
        sessions, answered = asyncio.run(_load(server.base, tokens, args.requests, session))
        rated = [(b["session_id"], s["name"], b["_token"]) for b in answered if b.get("stages") for s in b["stages"]]
        # each client rates its own sessions: only the session's own token may
        feedbacks = _feedback_load(server.base, tokens, {k: [r for r in rated if r[2] == k] for k in range(CLIENTS)})
        time.sleep(1.0)  # a record is appended just after its answer is sent
        ids = {b["request_id"] for b in answered}
        counts = _records(store_url, ids)
        sessions["records_per_answer"] = {"answered": len(ids), "with_one_record": sum(1 for n in counts.values()
                                                                                       if n == 1),
                                          "missing": len(ids - set(counts)),
                                          "doubled": sum(1 for n in counts.values() if n > 1)}
        print(f"  {name:10s} /session c{CLIENTS}: {sessions['requests']} req {sessions['errors']} err  "
              f"p50 {sessions['p50_ms']} p90 {sessions['p90_ms']} p99 {sessions['p99_ms']} ms  "
              f"{sessions['throughput_rps']} req/s; /feedback p99 {feedbacks['p99_ms']} ms; "
              f"records {sessions['records_per_answer']}")
        return {"session_c8": sessions, "feedback_c8": feedbacks}
    finally:
        server.stop()


def _feedback_load(base: str, tokens: list[str], by_token: dict[int, list]) -> dict:
    """Every stage of every answered session rated by its own client, CLIENTS at once."""
    async def run() -> dict:
        latencies, errors = [], 0
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            start = time.perf_counter()

            async def worker(k: int):
                nonlocal errors
                headers = {"Authorization": f"Bearer {tokens[k]}"}
                for i, (sid, stage, _) in enumerate(by_token[k]):
                    t0 = time.perf_counter()
                    r = await client.post("/feedback", json={"session_id": sid, "stage": stage, "rating": 1 + i % 5},
                                          headers=headers)
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors += 1

            await asyncio.gather(*(worker(k) for k in range(CLIENTS)))
            wall = time.perf_counter() - start
        return {"requests": len(latencies) + errors, "errors": errors, "seconds": round(wall, 2),
                "throughput_rps": round(len(latencies) / wall, 1), **percentiles(latencies)}

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="/session requests per store")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="emoheal-store-bench-"))
    try:
        results = {"machine": machine(), "clients": CLIENTS, "stores": {}}
        sqlite_env = service_env(tmp)  # EMOHEAL_STORE_FILE in tmp
        results["stores"]["sqlite"] = measure("sqlite", sqlite_env, f"sqlite:///{tmp / 'store.sqlite'}", tmp, args)
        with postgres() as url:
            results["stores"]["postgresql"] = measure("postgresql", {**sqlite_env, "EMOHEAL_STORE_URL": url}, url,
                                                      tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    p99 = {k: v["session_c8"]["p99_ms"] for k, v in results["stores"].items()}
    ratio = round(p99["postgresql"] / p99["sqlite"], 2)
    results["session_p99_ratio_postgresql_to_sqlite"] = ratio
    results["goal"] = {"ratio_at_most": GOAL_RATIO, "met": ratio <= GOAL_RATIO}
    print(f"/session p99 at {CLIENTS} clients: SQLite {p99['sqlite']} ms, PostgreSQL {p99['postgresql']} ms "
          f"(ratio {ratio}; goal <= {GOAL_RATIO}: {'met' if ratio <= GOAL_RATIO else 'FAIL'})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
