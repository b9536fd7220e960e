"""What the benchmarks share: a TCP relay that adds latency, and the machine's busy CPU.

LatencyRelay sits between a client and a server on 127.0.0.1 and holds every chunk a fixed delay in
each direction: a WAN-like round trip of twice that. It relays bytes, so TLS goes through it end to end.
cpu_times() reads /proc/stat, to say whether the machine or the network bounds a figure.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path


class LatencyRelay:
    """Forwards TCP connections to 127.0.0.1:target, holding every chunk `delay` seconds each way.

    The delay is latency, not a bandwidth limit: chunks are queued with their due time, so
    several in flight each wait only their own 50 ms."""

    def __init__(self, target_port: int, delay: float):
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"relay-{target_port}", daemon=True)

    def start(self) -> LatencyRelay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0, backlog=256))
        self.server = server
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _client(self, client_reader, client_writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(self._pipe(client_reader, up_writer), self._pipe(up_reader, client_writer),
                                 return_exceptions=True)
        except asyncio.CancelledError:  # the relay is stopping
            client_writer.close()
            up_writer.close()

    async def _pipe(self, reader, writer) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    try:
                        writer.write_eof() if writer.can_write_eof() else writer.close()
                    except OSError:
                        pass
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((self.loop.time() + self.delay, data or None))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def stop(self) -> None:
        async def shutdown():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def timed(work, count: int, who: int | None = None) -> tuple[object, dict]:
    """work()'s result, and how long it took for `count` mailboxes: seconds, rate, the machine's busy share of
    all its cores, and the CPU (in cores) of this process, or with `who` = resource.RUSAGE_CHILDREN of the
    processes it waited for."""
    import os
    import resource
    import time

    who = resource.RUSAGE_SELF if who is None else who
    busy0, total0 = cpu_times()
    own0 = resource.getrusage(who)
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    busy1, total1 = cpu_times()
    own1 = resource.getrusage(who)
    return result, {"seconds": seconds, "rate": count / seconds, "count": count,
                    "machine_busy": (busy1 - busy0) / max(1, total1 - total0),
                    "client_cpu": (own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime) / seconds,
                    "cores": os.cpu_count() or 1}
