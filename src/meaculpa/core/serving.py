"""Several uvicorn worker processes that share the client connections evenly.

uvicorn's own ``--workers`` lets every process accept from one shared listening socket, and
the process that wakes first takes a whole burst of new connections: 16 keep-alive
connections from a connector landed 14/2, 12/4 or 9/7 between two workers. A process runs
Python on one core at most, so with 14/2 one core does nearly all the work while the other
waits. Here one supervisor process accepts every connection and hands it (the socket itself,
over a Unix socket) to the worker holding the fewest open connections; each worker serves
what it is given exactly as uvicorn would have. A keep-alive connection stays with its worker.

Workers that die are started again. Ctrl+C or SIGTERM stops them all.
"""

from __future__ import annotations

import array
import asyncio
import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import uvicorn

MAX_FDS_A_MESSAGE = 32


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """Serve ``app`` ("module:attribute"; a factory when ``factory=True`` is in ``options``)."""
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    listener = socket.create_server((host, port), backlog=2048, reuse_port=False)
    Supervisor(listener, app, workers, options).run()


class Supervisor:
    def __init__(
        self, listener: socket.socket, app: str, workers: int, options: dict[str, Any]
    ) -> None:
        self.listener = listener
        self.app = app
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.slots = [_Slot(self.context) for _ in range(workers)]
        self.stopping = threading.Event()

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in self.slots:
                slot.start(self.app, self.options)
            watcher = threading.Thread(target=self._watch, name="meaculpa-workers", daemon=True)
            watcher.start()
            self._accept()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for slot in self.slots:
                slot.stop()
            self.listener.close()

    def _stop(self, *_: Any) -> None:
        self.stopping.set()

    def _accept(self) -> None:
        self.listener.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                raise
            with conn:  # this process's copy is closed once handed over
                for slot in sorted(self.slots, key=lambda s: s.open_connections()):
                    if slot.hand_over(conn):
                        break

    def _watch(self) -> None:
        """Start again a worker that died (not while stopping)."""
        while not self.stopping.wait(1.0):
            for slot in self.slots:
                if not slot.alive() and not self.stopping.is_set():
                    slot.start(self.app, self.options)


class _Slot:
    """One worker process: the socket it is handed connections on, and how many it holds."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.process: BaseProcess | None = None
        self.channel: socket.socket | None = None
        self.lock = threading.Lock()
        self.handed = 0  # connections handed to the current process
        # ... and how many of them it has closed: written by the worker only.
        self.closed: Synchronized[int] = context.Value("q", 0, lock=False)

    def start(self, app: str, options: dict[str, Any]) -> None:
        with self.lock:
            if self.channel is not None:
                self.channel.close()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.handed = 0
            self.closed.value = 0
            process = self.context.Process(
                target=_worker,
                args=(theirs, self.closed, app, options),
                name="meaculpa-web",
                daemon=True,
            )
            process.start()
            theirs.close()
            self.process, self.channel = process, ours

    def open_connections(self) -> int:
        return self.handed - int(self.closed.value)

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def hand_over(self, conn: socket.socket) -> bool:
        with self.lock:
            if self.channel is None or not self.alive():
                return False
            try:
                socket.send_fds(self.channel, [b"c"], [conn.fileno()])
            except OSError:
                return False
            self.handed += 1
            return True

    def stop(self) -> None:
        with self.lock:
            if self.channel is not None:
                self.channel.close()  # the worker sees the end of its channel and shuts down
                self.channel = None
            process = self.process
        if process is not None:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


def _worker(channel: socket.socket, closed: Any, app: str, options: dict[str, Any]) -> None:
    _HandedServer(uvicorn.Config(app, **options), channel, closed).run(sockets=[])


class _HandedServer(uvicorn.Server):
    """A uvicorn server that listens on nothing: its connections arrive over ``channel``."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket, closed: Any) -> None:
        super().__init__(config)
        self.channel = channel
        self.closed = closed

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        config = self.config
        loop = asyncio.get_running_loop()
        closed = self.closed
        base: Any = config.http_protocol_class

        class Counted(base):  # type: ignore[misc, valid-type]
            def connection_lost(self, exc: Exception | None) -> None:
                closed.value += 1
                super().connection_lost(exc)

        server_state, app_state = self.server_state, self.lifespan.state

        def protocol() -> asyncio.Protocol:
            made: asyncio.Protocol = Counted(
                config=config, server_state=server_state, app_state=app_state
            )
            return made

        self.channel.setblocking(False)
        pending: set[asyncio.Task[Any]] = set()

        def receive() -> None:
            while True:
                fds = array.array("i")
                try:
                    data, ancdata, _, _ = self.channel.recvmsg(
                        64, socket.CMSG_SPACE(MAX_FDS_A_MESSAGE * fds.itemsize)
                    )
                except BlockingIOError:
                    return
                except OSError:
                    data, ancdata = b"", []
                for level, kind, payload in ancdata:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                for fd in fds:
                    sock = socket.socket(fileno=fd)
                    sock.setblocking(False)
                    task = loop.create_task(loop.connect_accepted_socket(protocol, sock))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                if not data:  # the supervisor is gone or stopping
                    loop.remove_reader(self.channel.fileno())
                    self.should_exit = True
                    return

        loop.add_reader(self.channel.fileno(), receive)
