"""Prometheus metrics: counters kept in memory, gauges read from the store at scrape time.

The exposition is the plain text format served on a loopback port by a few lines of asyncio,
so no client library or HTTP framework is needed for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Labels = tuple[tuple[str, str], ...]
GaugeSource = Callable[[], Awaitable[dict[str, dict[Labels, float]]]]


class Metrics:
    """Process counters and runner heartbeats."""

    def __init__(self) -> None:
        self._counters: Counter[tuple[str, Labels]] = Counter()
        self._beats: dict[str, float] = {}
        self._gauges: list[GaugeSource] = []

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add ``amount`` to counter ``pecora_<name>_total`` with ``labels``."""
        self._counters[(name, tuple(sorted(labels.items())))] += amount

    def value(self, name: str, **labels: str) -> int:
        """Return the current value of a counter (tests, status)."""
        return self._counters[(name, tuple(sorted(labels.items())))]

    def heartbeat(self, runner: str) -> None:
        """Record that ``runner`` is alive (the watchdog pets systemd only while all are)."""
        self._beats[runner] = time.monotonic()

    def stale_runners(self, max_age: float) -> list[str]:
        """Return runners that have not reported within ``max_age`` seconds."""
        now = time.monotonic()
        return [name for name, beat in self._beats.items() if now - beat > max_age]

    def add_gauges(self, source: GaugeSource) -> None:
        """Register a coroutine that returns gauges at scrape time."""
        self._gauges.append(source)

    async def render(self) -> str:
        """Return the metrics in the Prometheus text exposition format."""
        lines: list[str] = []
        names = sorted({name for name, _ in self._counters})
        for name in names:
            lines.append(f"# TYPE pecora_{name}_total counter")
            for (n, labels), value in sorted(self._counters.items()):
                if n == name:
                    lines.append(f"pecora_{name}_total{_labels(labels)} {value}")
        for source in self._gauges:
            for name, series in (await source()).items():
                lines.append(f"# TYPE pecora_{name} gauge")
                lines.extend(
                    f"pecora_{name}{_labels(labels)} {value}" for labels, value in series.items()
                )
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def serve_metrics(metrics: Metrics, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``GET /metrics`` until ``stop`` is set."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            if request.split(b" ")[1:2] == [b"/metrics"]:
                body = (await metrics.render()).encode()
                head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            else:
                body, head = (
                    b"not found\n",
                    b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n",
                )
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        except Exception:
            log.exception("metrics request failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    log.info("metrics on http://%s:%d/metrics", host, port)
    async with server:
        await stop.wait()
