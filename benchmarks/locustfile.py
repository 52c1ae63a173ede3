"""Locust load test: people using the EmoHeal page.

    .venv/bin/locust -f benchmarks/locustfile.py --headless -u 16 -r 4 -t 2m --host http://127.0.0.1:3000

(or `.venv/bin/python benchmarks/serving_latency.py --locust`, which starts the service, runs this
and records the figures in benchmarks/results/serving.json). A user writes a sentence and asks for
a sleep session with their profile's token (as the page does: created once per user with POST
/users), starts the match stage's audio (a range request), rates every stage and answers the two
study questions, and now and then looks at their history; now and then someone only asks for the
emotions (/detect). Every
response is checked: the expected status and a JSON body with `request_id`. A crisis answer
(no stages) is a correct answer: that user then has no media to play and nothing to rate.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving_latency import TEXTS  # noqa: E402  (the same sentences as the latency benchmark)


def checked(response, status: int = 200) -> dict | None:
    """The JSON body when the status is `status` and the body has a request_id; else a failure."""
    if response.status_code != status:
        response.failure(f"status {response.status_code}, expected {status}")
        return None
    try:
        body = response.json()
    except ValueError:
        response.failure("the body is not JSON")
        return None
    if not isinstance(body, dict) or not body.get("request_id"):
        response.failure("no request_id in the body")
        return None
    response.success()
    return body


class PageUser(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with self.client.post("/users", name="/users", catch_response=True) as response:
            body = checked(response, 201)
        self.auth = {"Authorization": f"Bearer {body['token']}"} if body else {}

    @task(1)
    def history(self) -> None:
        with self.client.get("/users/me/history", headers=self.auth, name="/users/me/history",
                             catch_response=True) as response:
            body = checked(response)
            if body is not None and not isinstance(body.get("sessions"), list):
                response.failure("no sessions list in the history")

    @task(4)
    def session(self) -> None:
        text = random.choice(TEXTS)
        with self.client.post("/session", json={"text": text, "goal": "sleep"}, headers=self.auth, name="/session",
                              catch_response=True) as response:
            body = checked(response)
            if body is None:
                return
            stages = body.get("stages")
            if not isinstance(stages, list):
                response.failure("no stages list in the session")
                return
            if stages and not body.get("session_id"):
                response.failure("stages without a session_id")
                return
        if not stages:  # a crisis answer (resources, no music): nothing to play or rate
            return
        match = next((s for s in stages if s.get("name") == "match"), stages[0])
        audio_url = (match.get("item") or {}).get("audio_url")
        if audio_url:
            with self.client.get(audio_url, headers={"Range": "bytes=0-65535"}, name="/media/[id]",
                                 catch_response=True) as response:
                if response.status_code != 206:
                    response.failure(f"status {response.status_code}, expected 206")
                elif not response.headers.get("x-request-id"):
                    response.failure("no X-Request-ID header")
                elif not 0 < len(response.content) <= 65536:
                    response.failure(f"{len(response.content)} bytes for a 64 KiB range")
                else:
                    response.success()
        session_id = body["session_id"]
        for stage in stages:
            with self.client.post("/feedback", json={"session_id": session_id, "stage": stage["name"],
                                                     "rating": random.randint(1, 5)},
                                  headers=self.auth, name="/feedback (stage)", catch_response=True) as response:
                answer = checked(response)
                if answer is not None and answer.get("recorded") != "stage":
                    response.failure(f"recorded {answer.get('recorded')!r}, expected 'stage'")
        with self.client.post("/feedback", json={"session_id": session_id, "reflected": random.randint(1, 5),
                                                 "calmer": random.randint(1, 5)},
                              headers=self.auth, name="/feedback (study)", catch_response=True) as response:
            answer = checked(response)
            if answer is not None and answer.get("recorded") != "study":
                response.failure(f"recorded {answer.get('recorded')!r}, expected 'study'")

    @task(1)
    def detect(self) -> None:
        with self.client.post("/detect", json={"text": random.choice(TEXTS)}, name="/detect",
                              catch_response=True) as response:
            body = checked(response)
            if body is not None and not isinstance((body.get("emotions") or {}).get("probabilities"), dict):
                response.failure("no emotion probabilities")
