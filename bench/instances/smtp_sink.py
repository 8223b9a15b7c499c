#!/usr/bin/env python3
"""A slow SMTP relay for load and soak runs: accepts every message after --delay seconds
and appends its Message-ID to --log, one line per delivery, so repeats can be counted.
Listens on 127.0.0.1 only. Standard library only."""

import argparse
import asyncio


async def session(reader, writer, args):
    async def say(line):
        writer.write(line.encode() + b"\r\n")
        await writer.drain()

    await say("220 sink ready")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").strip().upper()
        if cmd.startswith("EHLO") or cmd.startswith("HELO"):
            await say("250 sink")
        elif cmd == "DATA":
            await say("354 go ahead")
            message_id = ""
            while True:
                data = await reader.readline()
                if not data or data == b".\r\n":
                    break
                if data.lower().startswith(b"message-id:"):
                    message_id = data.decode(errors="replace").split(":", 1)[1].strip()
            await asyncio.sleep(args.delay)
            with open(args.log, "a") as f:
                f.write(message_id + "\n")
            await say("250 queued")
        elif cmd == "QUIT":
            await say("221 bye")
            break
        else:
            await say("250 ok")
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.1)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: session(r, w, args), "127.0.0.1", args.port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
