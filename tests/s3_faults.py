"""A local S3 server that misbehaves on purpose: moto's S3 app behind a WSGI layer that
answers a chosen share of requests with 5xx errors and delays others, on 127.0.0.1.

Both S3 clients of the store talk to it: boto3 (the store's manifest, artifacts and
checksums) and H2O's own Java client (the model binaries), told apart by their
User-Agent. Faults are chosen deterministically (every n-th matching request), so a
test sees the same faults on every run.

    with FaultyS3() as s3:
        with s3.faults(FaultRule(error_share=0.5)) as seen:
            ...                              # every second request answers 503
        assert seen.faulted("boto3") > 0
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

ERROR_CODES = {500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


@dataclass(frozen=True)
class FaultRule:
    """Which requests misbehave, and how.

    Of the requests that match (`path_contains` in the URL path, `methods` and
    `clients` if given, and past the first `after` of them), the share `error_share` is
    answered with `status` and an S3 error body, and of the others the share
    `delay_share` waits `delay_seconds` before being served. Shares are spread evenly,
    starting with the first: 0.5 faults the 1st, 3rd, 5th ... matching request; 0.75
    faults three in every four (1st to 3rd, 5th to 7th, ...); 1.0 faults all of them.
    """

    error_share: float = 0.0
    status: int = 503
    delay_share: float = 0.0
    delay_seconds: float = 0.0
    path_contains: str = ""
    methods: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()  # "boto3", "h2o"
    after: int = 0

    def matches(self, method: str, path: str, client: str) -> bool:
        """Whether a request is one this rule applies to."""
        return (
            self.path_contains in path
            and (not self.methods or method in self.methods)
            and (not self.clients or client in self.clients)
        )


def _nth(share: float, count: int) -> bool:
    """Whether the `count`-th (1-based) event is one of an evenly spread `share`,
    counting the first one in (for any share above 0)."""
    return math.ceil(round(count * share, 9)) > math.ceil(round((count - 1) * share, 9))


@dataclass(frozen=True)
class Seen:
    """One request as the fault layer saw it."""

    method: str
    path: str
    client: str  # "boto3", "h2o" (the AWS Java SDK inside H2O), or "other"
    outcome: str  # "served", "delayed" or "faulted"


@dataclass
class Record:
    """The requests seen while some faults were on."""

    requests: list[Seen] = field(default_factory=list)

    def count(self, outcome: str, client: str | None = None) -> int:
        """Requests with this outcome (from this client, if given)."""
        return sum(1 for r in self.requests if r.outcome == outcome and client in (None, r.client))

    def faulted(self, client: str | None = None) -> int:
        """Requests answered with an injected error."""
        return self.count("faulted", client)

    def delayed(self, client: str | None = None) -> int:
        """Requests served late."""
        return self.count("delayed", client)

    def total(self, client: str | None = None) -> int:
        """All requests (from this client, if given)."""
        return sum(1 for r in self.requests if client in (None, r.client))


class _Rules:
    """The rules in force and their counters, shared by the server threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.matched: list[int] = []  # per rule: matching requests (past `after`)
        self.served: list[int] = []  # per rule: of those, the ones not faulted
        self.record = Record()

    def reset(self, rules: Iterable[FaultRule]) -> None:
        with self.lock:
            self.rules = list(rules)
            self.matched = [0] * len(self.rules)
            self.served = [0] * len(self.rules)
            self.record = Record()

    def decide(self, method: str, path: str, client: str) -> tuple[str, FaultRule | None]:
        """What to do with one request: the first rule that faults it wins; otherwise
        the first that delays it."""
        with self.lock:
            outcome, chosen = "served", None
            counts = []
            for index, rule in enumerate(self.rules):
                if rule.matches(method, path, client):
                    self.matched[index] += 1
                    if self.matched[index] > rule.after:
                        counts.append((index, rule))
            for index, rule in counts:
                if _nth(rule.error_share, self.matched[index] - rule.after):
                    outcome, chosen = "faulted", rule
                    break
            if chosen is None:
                for index, rule in counts:
                    self.served[index] += 1
                    if chosen is None and _nth(rule.delay_share, self.served[index]):
                        outcome, chosen = "delayed", rule
            self.record.requests.append(Seen(method, path, client, outcome))
            return outcome, chosen


def _client(environ: dict[str, Any]) -> str:
    agent = str(environ.get("HTTP_USER_AGENT", "")).lower()
    if "aws-sdk-java" in agent:
        return "h2o"
    if "boto" in agent:
        return "boto3"
    return "other"


class FaultyS3:
    """moto's S3 server on 127.0.0.1 (a free port) behind the fault layer."""

    def __init__(self) -> None:
        self._rules = _Rules()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """http://127.0.0.1:PORT"""
        if self._server is None:
            raise RuntimeError("FaultyS3 is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FaultyS3:
        """Serve in a daemon thread; returns self."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", 0, self._app(moto_app), threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="faulty-s3", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FaultyS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def faults(self, *rules: FaultRule) -> Iterator[Record]:
        """Apply `rules` (first match that faults wins) for the `with` block; yields the
        record of every request seen meanwhile. No faults once the block ends."""
        self._rules.reset(rules)
        try:
            yield self._rules.record
        finally:
            record = self._rules.record
            self._rules.reset(())
            log.info(
                "faulty S3: %d request(s), %d faulted, %d delayed",
                record.total(),
                record.faulted(),
                record.delayed(),
            )

    def _app(self, moto_app: Any) -> Any:
        rules = self._rules

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            from werkzeug.wsgi import get_input_stream

            method, path = str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", ""))
            outcome, rule = rules.decide(method, path, _client(environ))
            if rule is not None and outcome == "delayed":
                time.sleep(rule.delay_seconds)
            if rule is None or outcome != "faulted":
                return moto_app(environ, start_response)
            get_input_stream(environ).read()  # consume the body: the connection stays usable
            code = ERROR_CODES.get(rule.status, "InternalError")
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?>\n'
                + f"<Error><Code>{code}</Code><Message>injected fault</Message>".encode()
                + f"<Resource>{path}</Resource><RequestId>fault</RequestId></Error>".encode()
            )
            reason = {500: "Internal Server Error", 503: "Service Unavailable"}.get(rule.status, "Error")
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
            start_response(f"{rule.status} {reason}", headers)
            return [b"" if method == "HEAD" else body]

        return app


def point_h2o_s3_client(spark: Any, endpoint: str, access_key: str, secret_key: str, *, max_error_retry: int) -> None:
    """Point H2O's Java S3 client (in the driver JVM) at `endpoint`, with path-style
    access and `max_error_retry` retries per request.

    H2O reads these system properties once, when it first makes its S3 client, and
    keeps the client for the life of the JVM (`PersistS3._s3Factory`). The tests share
    one JVM, so clearing that cached factory lets each test module point H2O at its own
    server; a job sets the same properties at JVM start instead
    (`runtime.spark_conf.store_java_options`).
    """
    jvm = spark.sparkContext._jvm
    system = jvm.java.lang.System
    for key, value in {
        "sys.ai.h2o.persist.s3.endPoint": endpoint,
        "sys.ai.h2o.persist.s3.enable.path.style": "true",
        "sys.ai.h2o.persist.s3.maxErrorRetry": str(max_error_retry),
        "aws.accessKeyId": access_key,
        "aws.secretKey": secret_key,
    }.items():
        system.setProperty(key, value)
    # py4j's lookup uses the loader that holds Sparkling Water's jar (not the JVM's app loader).
    persist_s3 = jvm.py4j.reflection.ReflectionUtil.classForName("water.persist.PersistS3")
    factory = persist_s3.getDeclaredField("_s3Factory")
    factory.setAccessible(True)
    factory.set(None, None)
