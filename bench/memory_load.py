#!/usr/bin/env python3
"""The client side of bench/memory: logons and parked notify long polls.

    memory_load.py logon HOST PORT USER PASSWORD COUNT CONCURRENCY SESSIONS_FILE
        COUNT logons over JSON (one connection each, CONCURRENCY at once); the
        session ids are appended to SESSIONS_FILE, one per line.
    memory_load.py park HOST PORT SESSIONS_FILE READY_FILE
        one connection per session, each sending `notify` with a 300 s timeout
        and reading nothing; writes READY_FILE once every request is sent and
        holds the connections until it is killed.
    memory_load.py hostile HOST PORT PID
        POSTs bodies built to cost memory without a session (16 and 60 MiB of
        `<a/>` in a SOAP envelope, 16 MiB of bare `<a/>`, 16 MiB of JSON `[],`
        and of `[` nesting), one at a time, and prints for each the answer, how
        long it took, and the server's peak RSS during it (VmHWM of process
        PID, reset before each body through /proc/PID/clear_refs).

Raw sockets and asyncio only (the standard library), so it runs with any
Python 3.8 or later and holds 10,000 connections in a few tens of MB.
"""

import asyncio
import json
import resource
import sys
import time


def request(path, body):
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n"
    )
    return head.encode(), data


async def logon(host, port, user, password):
    head, data = request("/api/v1/logon", {"user": user, "password": password})
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head + b"Connection: close\r\n\r\n" + data)
    await writer.drain()
    reply = await reader.read()
    writer.close()
    status = reply.split(b" ", 2)[1]
    if status != b"200":
        raise RuntimeError(f"logon failed: {reply[:300]!r}")
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])["session"]


async def logons(host, port, user, password, count, concurrency, out):
    sem = asyncio.Semaphore(concurrency)
    sessions = []

    async def one():
        async with sem:
            for attempt in range(50):
                try:
                    sessions.append(await logon(host, port, user, password))
                    return
                except RuntimeError as e:
                    # MAPI_E_BUSY is the server asking to try again in a moment.
                    if b"MAPI_E_BUSY" not in str(e).encode() or attempt == 49:
                        raise
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(one() for _ in range(count)))
    with open(out, "a") as f:
        f.writelines(s + "\n" for s in sessions)


async def park(host, port, sessions, ready):
    conns = []
    for start in range(0, len(sessions), 500):
        batch = sessions[start : start + 500]
        opened = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in batch))
        for (reader, writer), s in zip(opened, batch):
            head, data = request("/api/v1/notify", {"session": s, "timeoutSeconds": 300})
            writer.write(head + b"\r\n" + data)
            conns.append((reader, writer))
        await asyncio.gather(*(w.drain() for _, w in conns[start:]))
    with open(ready, "w") as f:
        f.write(f"{len(conns)}\n")
    # Any answer before the timeout means the poll was cut.
    early = [r for r, _ in conns if r.at_eof()]
    if early:
        print(f"memory_load.py: {len(early)} polls ended early", file=sys.stderr)
    await asyncio.sleep(3600)


def status_mb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} for process {pid}")


async def post_raw(host, port, path, content_type, body):
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    writer.write(body)
    try:
        await writer.drain()
    except ConnectionError:
        pass  # the server may answer and close before it read everything
    reply = await reader.read()
    writer.close()
    return reply.split(b" ", 2)[1].decode() if reply else "no answer"


async def hostile(host, port, pid):
    envelope = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><logon>',
        b"</logon></soap:Body></soap:Envelope>",
    )
    mib = 1 << 20
    bodies = [
        ("16 MiB of <a/> in an envelope", "/okapi", "text/xml", envelope[0] + b"<a/>" * (16 * mib // 4) + envelope[1]),
        ("60 MiB of <a/> in an envelope", "/okapi", "text/xml", envelope[0] + b"<a/>" * (60 * mib // 4) + envelope[1]),
        ("16 MiB of bare <a/>", "/okapi", "text/xml", b"<a/>" * (16 * mib // 4)),
        ("16 MiB of JSON [],", "/api/v1/logon", "application/json", b'{"user":[' + b"[]," * (16 * mib // 3) + b"[]]}"),
        ("16 MiB of JSON nesting", "/api/v1/logon", "application/json", b'{"user":' + b"[" * (8 * mib) + b"]" * (8 * mib) + b"}"),
    ]
    for name, path, content_type, body in bodies:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        before = status_mb(pid, "VmRSS")
        start = time.monotonic()
        code = await post_raw(host, port, path, content_type, body)
        took = (time.monotonic() - start) * 1000
        print(
            f"{name:32} HTTP {code} in {took:5.0f} ms, "
            f"RSS {before} MB before, peak {status_mb(pid, 'VmHWM')} MB (+{status_mb(pid, 'VmHWM') - before} MB)"
        )


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode = sys.argv[1]
    if mode == "logon":
        host, port, user, password, count, concurrency, out = sys.argv[2:9]
        asyncio.run(logons(host, int(port), user, password, int(count), int(concurrency), out))
    elif mode == "park":
        host, port, sessions_file, ready = sys.argv[2:6]
        with open(sessions_file) as f:
            sessions = [line.strip() for line in f if line.strip()]
        asyncio.run(park(host, int(port), sessions, ready))
    elif mode == "hostile":
        host, port, pid = sys.argv[2:5]
        asyncio.run(hostile(host, int(port), int(pid)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
