#!/usr/bin/env python3
"""Protocol check of the fake Feishu's long connection with the official SDK.

Connects `lark_oapi.ws.Client` to the fake (endpoint discovery, WebSocket, pbbp2
frames), and prints one line per received im.message.receive_v1 event:

    RECEIVED <event_id> <message_id> <text>

then exits 0 shortly after the first event, once the SDK has written its ack. The
Rust test (tests/tests/e2e/chat.rs) checks on the fake's side that the ack arrived as
the real server expects it.

Usage: check_fake_feishu_ws.py <base_url> <app_id> <app_secret>
Needs: pip install lark-oapi  (scripts/install-peers installs it)
"""

import json
import os
import sys
import threading

try:
    import lark_oapi as lark
except ImportError:
    print("lark-oapi is not installed: pip install lark-oapi (or scripts/install-peers)", file=sys.stderr)
    sys.exit(3)


def main() -> None:
    base_url, app_id, app_secret = sys.argv[1:4]

    def on_message(data: "lark.im.v1.P2ImMessageReceiveV1") -> None:
        message = data.event.message
        text = json.loads(message.content).get("text", "")
        print(f"RECEIVED {data.header.event_id} {message.message_id} {text}", flush=True)
        # Leave time for the SDK to write the ack after this handler returns.
        threading.Timer(1.5, lambda: os._exit(0)).start()

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(on_message)
        .build()
    )
    client = lark.ws.Client(
        app_id,
        app_secret,
        event_handler=handler,
        domain=base_url,
        log_level=lark.LogLevel.DEBUG,
    )
    client.start()


if __name__ == "__main__":
    main()
