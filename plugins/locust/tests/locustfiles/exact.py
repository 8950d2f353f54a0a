"""A locustfile that also keeps every exact response time, for tests: the client's truth.

Each worker writes its samples (``[name, ms]``) to ``$SAMPLES_DIR/<pid>.json`` when it quits.
"""

import json
import os

from locust import FastHttpUser, constant, events, task

SAMPLES = []


@events.request.add_listener
def _keep(name, response_time, **_):
    SAMPLES.append([name, response_time])


@events.quitting.add_listener
def _dump(environment, **_):
    if type(environment.runner).__name__ == "WorkerRunner":
        path = os.path.join(os.environ["SAMPLES_DIR"], f"{os.getpid()}.json")
        with open(path, "w") as f:
            json.dump(SAMPLES, f)


class GroundTruthUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def fast(self):
        self.client.get("/delay/40", name="fast")

    @task
    def slow(self):
        self.client.get("/delay/150", name="slow")
