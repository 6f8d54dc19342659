#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed time each way: a network with a
round trip of twice that, for the sync benchmark's ``--latency-ms``.

    python3 bench/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

TLS passes through untouched (the clients still verify the server's certificate). Each chunk
read is written on after DELAY_MS, in order; nothing limits the bandwidth but this process's
CPU, which the clients share on the same machine (it matters for a first sync of hundreds of
MB, not for re-syncs). Not part of the test suite.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            at, data = await queue.get()
            if data is None:
                break
            wait = at + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    try:
        while data := await reader.read(262144):
            queue.put_nowait((time.monotonic(), data))
    finally:
        queue.put_nowait((time.monotonic(), None))
        await asyncio.gather(task, return_exceptions=True)


async def main(listen: int, target: int, delay: float) -> None:
    async def handle(creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pump(creader, swriter, delay), pump(sreader, cwriter, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print(f"listening on 127.0.0.1:{listen}, {delay * 1000:g} ms each way to :{target}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
