"""A thin client for Doccano 1.8.4's REST API (httpx enters here and only here).

Why our own client and not doccano-client 1.2.8: that package needs pydantic 1 / urllib3 1 (it cannot
share an environment with spaCy 3.8 or current datasets), sets no request timeouts, cannot pass the
import ``encoding`` (so chardet corrupts small UTF-8 files), and ``bulk_delete_examples(p, [])``
deletes every example.  The endpoints used below are the ones doccano-client uses.

Every call has a bound on its *total* time (all attempts and back-off included; 25 s unless the call
says otherwise), so a server that accepts connections but never answers fails within that bound, and
bounded retries with exponential backoff.  A request is retried only
when it cannot have had an effect twice: connection failures before anything was sent (any method),
and read failures or 502/503/504 answers for idempotent methods (and a 500 on a GET: SQLite
"database is locked" while the worker writes shows up that way).  Failures are wrapped once into
:class:`SyncError` keeping the server's own message.  Tokens never appear in messages.

Waiting for an import or export task checks that the task worker is alive: through ``worker`` (a
:class:`WorkerProbe`; the local server's process id) every second, else through the health endpoint
(a remote server), failing after ``REMOTE_STALL`` seconds of failed health checks (a health check the
server does not answer in time counts neither way: a long import holds its database).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator, Protocol

import httpx

from ..errors import SyncError

IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
RETRY_STATUS = {502, 503, 504}
SERVER_MESSAGE_CHARS = 400
POLL_MAX = 0.25  # most seconds between task status polls: a cheap GET; the next chunk waits for it
TOTAL_TIMEOUT = 25.0  # seconds one call may take, retries included
LOCAL_CHECK_EVERY = 1.0  # seconds between liveness checks of a local worker (a process lookup)
REMOTE_CHECK_EVERY = 5.0  # seconds between health checks of a remote worker (each enqueues a celery task)
REMOTE_STALL = 15.0  # seconds of failing health checks after which a remote worker counts as gone
HEALTH_SLOW = "the health check did not answer within 15 s"  # the server is busy: no evidence about the worker
SILENT_HINT = ("the server accepts connections but does not answer: check it (`spanbank doccano status`, "
               "`spanbank doccano logs web`); restart a local one with `spanbank doccano down` then `spanbank doccano up`")
RESTART_HINT = ("restart it with `spanbank doccano up` (or ask the server's admin), then run the command again "
                "(a push resumes where it stopped)")


class NoAnswer(SyncError):
    """The server took the request and did not answer within the call's time bound."""


class WorkerProbe(Protocol):
    """Liveness of a task worker we can see directly (the local server's)."""

    def dead(self) -> str | None:
        """Why the worker cannot run tasks, or None while it lives."""

    def queued(self) -> int | None:
        """How many tasks wait for it (None: unknown)."""

    def queued_task(self, task_id: str) -> bool:
        """Whether that task still waits for a worker (it will run when one takes it)."""


class DoccanoClient:
    """A logged-in session against one Doccano server (token auth, no CSRF)."""

    def __init__(self, url: str, token: str, *, timeout: float = TOTAL_TIMEOUT, retries: int = 3, backoff: float = 0.5,
                 worker: WorkerProbe | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.worker = worker
        self._http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout, connect=5.0),
                                  headers={"Authorization": f"Token {token}", "Accept": "application/json"})

    @classmethod
    def login(cls, url: str, username: str, password: str, **kwargs: Any) -> "DoccanoClient":
        """Log in with a username and password; raises SyncError naming the server and user on failure."""
        anonymous = cls(url, "", **kwargs)
        anonymous._http.headers.pop("Authorization")
        try:
            data = anonymous.request("POST", "/v1/auth/login/", json={"username": username, "password": password})
        except SyncError as exc:
            refused = "-> HTTP 400" in exc.message or "-> HTTP 401" in exc.message
            raise SyncError(f"login to Doccano at {url} as {username!r} failed: {exc.message}",
                            hint="check the password (DOCCANO_PASSWORD, or the 0600 password file of "
                                 "`spanbank doccano up`)" if refused else exc.hint) from None
        finally:
            anonymous.close()
        return cls(url, data["key"], **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "DoccanoClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 204), raw: bool = False,
                timeout: float | None = None, **kwargs: Any) -> Any:
        """One HTTP call with retries, all within ``timeout`` seconds (default: the client's); returns the
        decoded JSON (or the response when ``raw``)."""
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        attempt = 0
        while True:
            left = max(deadline - time.monotonic(), 0.1)
            kwargs["timeout"] = httpx.Timeout(left, connect=min(5.0, left))
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if attempt < self.retries and _retryable(method, exc) and self._pause(attempt, deadline):
                    attempt += 1
                    continue
                if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
                    raise NoAnswer(f"{method} {self.url}{path}: no answer within {budget:.0f} s ({type(exc).__name__})",
                                   hint=SILENT_HINT) from None
                raise SyncError(f"{method} {self.url}{path} failed: {type(exc).__name__}: {exc}",
                                hint="is the Doccano server running? (`spanbank doccano status`)") from None
            transient = response.status_code in RETRY_STATUS or (method == "GET" and response.status_code == 500)
            if transient and method in IDEMPOTENT and attempt < self.retries and self._pause(attempt, deadline):
                attempt += 1
                continue
            if response.status_code not in expect:
                raise SyncError(f"{method} {self.url}{path} -> HTTP {response.status_code}: {_server_message(response)}")
            if raw:
                return response
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                return response.text

    def _pause(self, attempt: int, deadline: float) -> bool:
        """Sleep before retry ``attempt + 1``; False (no sleep) when it would leave no time for the retry."""
        pause = self.backoff * 2 ** attempt
        if time.monotonic() + pause + 0.5 > deadline:
            return False
        time.sleep(pause)
        return True

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def paged(self, path: str, *, limit: int = 500, offset: int = 0, **params: Any) -> Iterator[dict]:
        """Every item of a paginated listing, ``limit`` per request, starting at ``offset``."""
        while True:
            page = self.get(path, limit=limit, offset=offset, **params)
            results = page["results"] if isinstance(page, dict) else page
            yield from results
            if not isinstance(page, dict) or not page.get("next") or not results:
                return
            offset += len(results)

    # --- users, projects, members --------------------------------------------------------------

    def me(self) -> dict:
        return self.get("/v1/me")

    def create_user(self, username: str, password: str) -> dict:
        return self.request("POST", "/v1/users/create",
                            json={"username": username, "password1": password, "password2": password})

    def users(self) -> list[dict]:
        return self.get("/v1/users")

    def projects(self) -> Iterator[dict]:
        return self.paged("/v1/projects", limit=100)

    def create_project(self, payload: dict) -> dict:
        return self.request("POST", "/v1/projects", json=payload)

    def update_project(self, project_id: int, changes: dict) -> dict:
        return self.request("PATCH", f"/v1/projects/{project_id}", json=changes)

    def project(self, project_id: int) -> dict:
        return self.get(f"/v1/projects/{project_id}")

    def roles(self) -> list[dict]:
        return self.get("/v1/roles")

    def members(self, project_id: int) -> list[dict]:
        return self.get(f"/v1/projects/{project_id}/members")

    def add_member(self, project_id: int, user_id: int, role_name: str = "annotator") -> dict:
        role = next((r["id"] for r in self.roles() if r["name"] == role_name), None)
        if role is None:
            raise SyncError(f"Doccano has no role {role_name!r}", allowed=[r["name"] for r in self.roles()])
        return self.request("POST", f"/v1/projects/{project_id}/members", json={"user": user_id, "role": role})

    # --- label types ----------------------------------------------------------------------------

    def label_types(self, project_id: int, kind: str) -> list[dict]:
        """``kind`` is ``span`` or ``relation``."""
        return self.get(f"/v1/projects/{project_id}/{kind}-types")

    def create_label_type(self, project_id: int, kind: str, payload: dict) -> dict:
        return self.request("POST", f"/v1/projects/{project_id}/{kind}-types", json=payload)

    def update_label_type(self, project_id: int, kind: str, label_id: int, changes: dict) -> dict:
        return self.request("PATCH", f"/v1/projects/{project_id}/{kind}-types/{label_id}", json=changes)

    # --- examples and labels --------------------------------------------------------------------

    def count_examples(self, project_id: int, **params: Any) -> int:
        return int(self.get(f"/v1/projects/{project_id}/examples", limit=1, **params)["count"])

    def examples(self, project_id: int, *, limit: int = 500, **params: Any) -> Iterator[dict]:
        return self.paged(f"/v1/projects/{project_id}/examples", limit=limit, **params)

    def delete_examples(self, project_id: int, ids: list[int]) -> None:
        """Delete the named examples.  An empty selection is refused: Doccano would delete them ALL."""
        ids = [int(i) for i in ids]
        if not ids:
            raise SyncError("refusing to delete examples with an empty selection (Doccano would delete every example)")
        self.request("DELETE", f"/v1/projects/{project_id}/examples", json={"ids": ids})

    def spans(self, project_id: int, example_id: int) -> list[dict]:
        return list(self.paged(f"/v1/projects/{project_id}/examples/{example_id}/spans", limit=1000))

    def relations(self, project_id: int, example_id: int) -> list[dict]:
        return list(self.paged(f"/v1/projects/{project_id}/examples/{example_id}/relations", limit=1000))

    def states(self, project_id: int, example_id: int) -> list[dict]:
        return list(self.paged(f"/v1/projects/{project_id}/examples/{example_id}/states", limit=1000))

    def create_span(self, project_id: int, example_id: int, start: int, end: int, label_id: int) -> dict:
        return self.request("POST", f"/v1/projects/{project_id}/examples/{example_id}/spans",
                            json={"start_offset": start, "end_offset": end, "label": label_id})

    def create_relation(self, project_id: int, example_id: int, from_id: int, to_id: int, type_id: int) -> dict:
        return self.request("POST", f"/v1/projects/{project_id}/examples/{example_id}/relations",
                            json={"from_id": from_id, "to_id": to_id, "type": type_id})

    def delete_span(self, project_id: int, example_id: int, span_id: int, *, missing_ok: bool = False) -> None:
        """Delete one span (its relations go with it: Doccano cascades).  ``missing_ok``: a span already gone
        (e.g. a retried DELETE whose first attempt worked) is not an error."""
        self.request("DELETE", f"/v1/projects/{project_id}/examples/{example_id}/spans/{span_id}",
                     expect=(200, 204, 404) if missing_ok else (200, 204))

    def update_example_meta(self, project_id: int, example_id: int, meta: dict) -> dict:
        """Replace an example's meta (a PATCH of the ``meta`` field only; the text is never sent)."""
        return self.request("PATCH", f"/v1/projects/{project_id}/examples/{example_id}", json={"meta": meta})

    def toggle_confirmed(self, project_id: int, example_id: int) -> dict:
        """Confirm an example as the logged-in user (calling it again un-confirms)."""
        return self.request("POST", f"/v1/projects/{project_id}/examples/{example_id}/states", json={})

    # --- bulk import / export (need the celery worker) ------------------------------------------

    def worker_problem(self) -> str | None:
        """Why imports/exports cannot run now (``None`` when the task worker answers).  Takes ~1-3 s."""
        try:
            response = self.request("GET", "/v1/health/", params={"format": "json"}, expect=(200, 500), raw=True,
                                    timeout=15.0)
        except NoAnswer:  # its checks wait on the database, which a long import holds
            return HEALTH_SLOW
        try:
            checks = response.json()
        except ValueError:
            return f"health check answered HTTP {response.status_code}: {_server_message(response)}"
        bad = {k: v for k, v in checks.items() if "celery" in k.lower() and v != "OK"}
        if bad:
            return "; ".join(f"{k}: {v}" for k, v in bad.items())
        return None if response.status_code == 200 else f"health check failed: {checks}"

    def check_worker(self) -> str | None:
        """Raise SyncError when the task worker cannot run imports/exports; a note when it is alive but busy."""
        return self.worker_note(self.worker_problem())

    def worker_note(self, problem: str | None) -> str | None:
        """Judge a failed health check (``problem``): a dead worker is an error, a live one (its process,
        for the local server) only busy with queued tasks (a note).  A remote one cannot be told apart."""
        if problem is None:
            return None
        if self.worker is None:
            raise SyncError(f"the Doccano task worker at {self.url} does not answer its health check ({problem}): it "
                            "is not running, or busy with queued tasks; imports and exports would wait for it",
                            hint="start it (`spanbank doccano up`, or ask the server's admin), or wait for its queue "
                                 "to drain, then run the command again")
        dead = self.worker.dead()
        if dead:
            raise SyncError(f"{dead}; imports and exports would wait for it", hint=RESTART_HINT)
        queued = self.worker.queued()
        return (f"the Doccano task worker is alive but busy with queued tasks ({'some' if queued is None else queued} "
                "waiting): this run waits for them")

    def upload(self, project_id: int, path: Path, *, task: str = "RelationExtraction", file_format: str = "JSONL",
               encoding: str = "utf_8") -> str:
        """Start a bulk import of one file (explicit encoding: never chardet); returns the task id."""
        with path.open("rb") as fh:
            response = self.request("POST", "/v1/fp/process/", files={"filepond": (path.name, fh, "application/json")}, headers={"Accept": "*/*"},
                                    raw=True, timeout=300.0)
        upload_id = response.text.strip()
        data = self.request("POST", f"/v1/projects/{project_id}/upload",
                            json={"uploadIds": [upload_id], "task": task, "format": file_format, "encoding": encoding})
        return data["task_id"]

    def wait_task(self, task_id: str, *, timeout: float = 1800.0) -> Any:
        """Poll a celery task until it is ready; its result, or SyncError with the task's error.

        Bounded by ``timeout`` and by the worker's liveness (see the module notes): a dead worker fails
        the wait within seconds (local) or ``REMOTE_STALL`` + a health check (remote).
        """
        started = time.monotonic()
        deadline, delay = started + timeout, 0.1
        liveness = _Liveness(self, task_id)
        while True:
            status = self.get(f"/v1/tasks/status/{task_id}")
            if status.get("ready"):
                if status.get("error"):
                    raise SyncError(f"Doccano task {task_id} failed: {status['error'].get('text', status['error'])}")
                return status.get("result")
            if time.monotonic() > deadline:
                raise SyncError(f"Doccano task {task_id} was not done after {timeout:.0f} s",
                                hint="check the worker with `spanbank doccano status` / `spanbank doccano logs worker`")
            liveness.check()
            time.sleep(delay)
            delay = min(delay * 1.5, POLL_MAX)

    def export(self, project_id: int, dest: Path, *, only_approved: bool = False, timeout: float = 1800.0) -> Path:
        """Export the project as JSONL (a zip) into ``dest``; returns the file path."""
        data = self.request("POST", f"/v1/projects/{project_id}/download",
                            json={"format": "JSONL", "exportApproved": only_approved})
        self.wait_task(data["task_id"], timeout=timeout)
        with self._http.stream("GET", f"/v1/projects/{project_id}/download", params={"taskId": data["task_id"]},
                               timeout=httpx.Timeout(300.0, connect=5.0)) as response:
            if response.status_code != 200:
                response.read()
                raise SyncError(f"export download from {self.url} -> HTTP {response.status_code}: "
                                f"{_server_message(response)}")
            with dest.open("wb") as fh:
                for block in response.iter_bytes(1 << 20):
                    fh.write(block)
        return dest


class _Liveness:
    """The worker checks of one task wait (see :meth:`DoccanoClient.wait_task`)."""

    def __init__(self, client: DoccanoClient, task_id: str) -> None:
        self.client, self.task_id = client, task_id
        self.every = LOCAL_CHECK_EVERY if client.worker is not None else REMOTE_CHECK_EVERY
        self.next = time.monotonic() + self.every
        self.failing_since: float | None = None

    def check(self) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.every
        client = self.client
        if client.worker is not None:
            problem = client.worker.dead()
            if problem:
                raise SyncError(f"{problem}, so Doccano task {self.task_id} cannot finish", hint=RESTART_HINT)
            return
        problem = client.worker_problem()
        if problem == HEALTH_SLOW:
            return  # the database is held (by an import, often ours): neither alive nor dead
        if problem is None:
            self.failing_since = None
            return
        self.failing_since = self.failing_since or now
        if time.monotonic() - self.failing_since >= REMOTE_STALL:
            raise SyncError(f"the Doccano task worker at {client.url} has failed its health checks for "
                            f"{REMOTE_STALL:.0f} s ({problem}) while task {self.task_id} waits: it is not running, or "
                            "busy with other tasks", hint=RESTART_HINT)


def _retryable(method: str, exc: httpx.HTTPError) -> bool:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True  # nothing reached the server
    return method in IDEMPOTENT and isinstance(exc, (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError))


def _server_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:SERVER_MESSAGE_CHARS] if text else response.reason_phrase
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            value = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(value if key in ("detail", "non_field_errors") else f"{key}: {value}")
        return "; ".join(parts)[:SERVER_MESSAGE_CHARS]
    return str(data)[:SERVER_MESSAGE_CHARS]
