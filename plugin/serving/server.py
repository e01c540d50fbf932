"""The serving processes: each worker runs its own uvicorn server on its own listening socket.

With one socket shared by every worker (uvicorn's `--workers`), the kernel wakes whichever worker is idle when a
connection arrives; keep-alive clients (EHRs keep their connections) open a few connections at start and one worker,
often the first, ends up holding them all while the others sit idle (58.6 CPU-s against 0.1 over a 60 s run). Here
every worker binds the same address with ``SO_REUSEPORT``: the kernel keeps one accept queue per socket and spreads
new connections over them by a hash of the connection, so each worker gets its share (bench/RESULTS.md).

Linux only lets sockets of the same user share a port this way. Before the workers start, the supervisor binds the
address once without ``SO_REUSEPORT``: if another server (even another epidural-cds) already listens there, start-up
fails with "address in use" instead of quietly splitting its traffic.

The supervisor restarts a worker that dies after it started serving, and stops everything when one fails to start
(the same settings would fail again); SIGTERM or SIGINT stop every worker gracefully.

Workers are forked from the supervisor once it has imported the app and loaded what every worker reads (the
ICD-10-CM table): spawned, each worker imported FastAPI, SQLAlchemy and the app and loaded the table again, ~1.3 s of
CPU each, so two workers on two cores took 2.4-2.7 s to answer where one took 1.3-1.8 s (bench/README.md), and
each kept its own copy of the table. What exists before the fork is frozen out of the garbage collector, so workers
do not write to (and copy) the pages they share.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Final

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE

from plugin.serving.log_format import configure_logging
from plugin.serving.request_deadlines import header_deadline_protocol

# prometheus-client's multi-process mode: each worker counts in its own files in this directory.
MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"

logger = logging.getLogger("epidural_cds.server")

_LISTEN_BACKLOG: Final = 2048
_CHECK_EVERY_SECONDS: Final = 0.5
# A worker that exits this soon after it was started failed to start (bad app, database URL...): starting another
# would fail the same way, in a loop.
_START_GRACE_SECONDS: Final = 5.0


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    header_timeout_seconds: float
    graceful_shutdown_seconds: int = 10
    # Another ASGI app may be given: the benchmark serves its floor the same way.
    app: str = "plugin.serving.asgi:app_from_environment"
    factory: bool = True


class AddressInUse(Exception):
    """The workers cannot share the address (another server listens there); the message names it."""


def serve(options: ServeOptions, prepare: Callable[[], ASGIApp | None] = lambda: None) -> int:
    """Run the service until SIGTERM or SIGINT; the exit status for the command line. `prepare` runs in this process
    before any worker starts: it may refuse to start (by raising) and load what every worker shares. With one worker,
    the app it returns (having built one to check the settings) is the one served, rather than building another."""
    if options.port == 0 and options.workers > 1:
        raise AddressInUse("port 0 would give each worker a different port: give the port to listen on")
    ensure_address_free(options.host, options.port)
    if options.workers == 1:
        run_worker(options, prepare())
        return 0
    with _metrics_directory():
        prepare()
        return _Supervisor(options).run()


@contextmanager
def _metrics_directory() -> Iterator[None]:
    """A fresh directory for the workers' metrics files, named in the environment before `prepare` imports the app:
    prometheus-client picks file-backed counters only if the variable is set when it is first imported, and forked
    workers inherit that choice. /metrics on any worker adds every worker's files up."""
    directory = tempfile.mkdtemp(prefix="epidural-cds-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR_VARIABLE]
        shutil.rmtree(directory, ignore_errors=True)


def ensure_address_free(host: str, port: int) -> None:
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no owner
        try:
            probe.bind(address)
        except OSError as error:
            raise AddressInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None


def run_worker(options: ServeOptions, app: ASGIApp | None = None) -> None:
    """One worker: the app (`app`, else `options.app`) on its own SO_REUSEPORT socket (the entry point of each worker
    process)."""
    configure_logging()
    try:
        _serve_one(options, app)
    except Exception:
        # Logged as JSON like everything else; left alone it would print a plain-text traceback into the log.
        logger.exception("worker failed", extra={"pid": os.getpid()})
        sys.exit(STARTUP_FAILURE)


def _forked_worker(options: ServeOptions) -> None:
    # The supervisor's handlers came along with the fork; until uvicorn installs its own, a stop signal must stop
    # this worker, not set the supervisor's flag in a copy of it.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)
    run_worker(options)


def _serve_one(options: ServeOptions, app: ASGIApp | None) -> None:
    listener = _listening_socket(options.host, options.port)
    config = uvicorn.Config(
        options.app if app is None else app,
        factory=options.factory and app is None,
        http=header_deadline_protocol(options.header_timeout_seconds),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=options.graceful_shutdown_seconds,
    )
    logger.info("worker serving", extra={"pid": os.getpid(), "host": options.host, "port": options.port})
    uvicorn.Server(config).run(sockets=[listener])


def _forget_worker(pid: int | None) -> None:
    """Bookkeeping after a worker process ended (its counters stay counted)."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - imported by the app by now, after the variable

    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if directory is not None and pid is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # unannotated


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return family, (str(address[0]), int(address[1]))


def _listening_socket(host: str, port: int) -> socket.socket:
    family, address = _address(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address)
    listener.listen(_LISTEN_BACKLOG)
    return listener


class _Supervisor:
    def __init__(self, options: ServeOptions) -> None:
        self._options = options
        self._context = multiprocessing.get_context("fork")
        self._stop_signal: int | None = None

    def run(self) -> int:
        # Imported here once, not in every worker; a worker forked later (a replacement) starts as fast.
        importlib.import_module(self._options.app.partition(":")[0])
        gc.collect()
        gc.freeze()
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, self._on_stop)
        workers = [self._start() for _ in range(self._options.workers)]
        status = 0
        try:
            while self._stop_signal is None:
                time.sleep(_CHECK_EVERY_SECONDS)
                for index, (worker, started) in enumerate(workers):
                    if worker.is_alive() or self._stop_signal is not None:
                        continue
                    _forget_worker(worker.pid)
                    extra = {"pid": worker.pid, "exit_code": worker.exitcode}
                    # A worker killed by a signal (the OOM killer, an operator) is replaced even just after it
                    # started; one that exits by itself that early failed to start and would only fail again.
                    exited_early = time.monotonic() - started < _START_GRACE_SECONDS and (worker.exitcode or 0) >= 0
                    if worker.exitcode == STARTUP_FAILURE or exited_early:
                        logger.error("a worker failed to start; stopping the service", extra=extra)
                        self._stop_signal, status = signal.SIGTERM, 1
                        break
                    logger.warning("worker exited; starting another", extra=extra)
                    workers[index] = self._start()
        finally:
            self._stop_all(workers)
        return status

    def _on_stop(self, number: int, _frame: object) -> None:
        self._stop_signal = number

    def _start(self) -> tuple[BaseProcess, float]:
        worker = self._context.Process(target=_forked_worker, args=(self._options,), name="epidural-cds-worker")
        worker.start()
        return worker, time.monotonic()

    def _stop_all(self, started: list[tuple[BaseProcess, float]]) -> None:
        workers = [worker for worker, _ in started]
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._options.graceful_shutdown_seconds + 5
        for worker in workers:
            worker.join(max(deadline - time.monotonic(), 0))
            if worker.is_alive():
                logger.error("worker did not stop in time; killing it", extra={"pid": worker.pid})
                worker.kill()
                worker.join()
