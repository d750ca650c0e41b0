"""Protocol check of the fake Feishu HTTP API with the official SDK (lark-oapi).

Usage: check_fake_feishu_api.py BASE_URL APP_ID APP_SECRET CHAT_ID

The SDK fetches a tenant token, sends a text message, uploads a PNG (the image API
cards use), sends an interactive card showing it, updates that card in place (the
message-card update API, `message.patch`), and replies under the first in its thread; each response must parse into the SDK's own types with
code 0. Prints one JSON line with what the SDK read; exits 1 on any failure.
"""

import io
import json
import sys
import zlib

import lark_oapi as lark
from lark_oapi.api.im.v1 import (
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)


def tiny_png() -> bytes:
    """A 1x1 white PNG, written out by hand so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def main() -> int:
    base_url, app_id, app_secret, chat_id = sys.argv[1:5]
    client = (
        lark.Client.builder()
        .app_id(app_id)
        .app_secret(app_secret)
        .domain(base_url)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )

    def send(msg_type: str, content: dict, uuid: str):
        req = (
            CreateMessageRequest.builder()
            .receive_id_type("chat_id")
            .request_body(
                CreateMessageRequestBody.builder()
                .receive_id(chat_id)
                .msg_type(msg_type)
                .content(json.dumps(content))
                .uuid(uuid)
                .build()
            )
            .build()
        )
        return client.im.v1.message.create(req)

    text = send("text", {"text": "hello from lark-oapi"}, "sdk-check-text")
    if not text.success():
        print(f"send text failed: code={text.code} msg={text.msg}", file=sys.stderr)
        return 1
    image = client.im.v1.image.create(
        CreateImageRequest.builder()
        .request_body(
            CreateImageRequestBody.builder()
            .image_type("message")
            .image(io.BytesIO(tiny_png()))
            .build()
        )
        .build()
    )
    if not image.success():
        print(f"image upload failed: code={image.code} msg={image.msg}", file=sys.stderr)
        return 1
    card = {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": "sdk card"}, "template": "blue"},
        "body": {
            "elements": [
                {"tag": "markdown", "content": "**hi**"},
                {"tag": "img", "img_key": image.data.image_key,
                 "alt": {"tag": "plain_text", "content": "a chart"}},
            ]
        },
    }
    interactive = send("interactive", card, "sdk-check-card")
    if not interactive.success():
        print(f"send card failed: code={interactive.code} msg={interactive.msg}", file=sys.stderr)
        return 1
    card["header"]["title"]["content"] = "sdk card, updated"
    patched = client.im.v1.message.patch(
        PatchMessageRequest.builder()
        .message_id(interactive.data.message_id)
        .request_body(PatchMessageRequestBody.builder().content(json.dumps(card)).build())
        .build()
    )
    if not patched.success():
        print(f"card update failed: code={patched.code} msg={patched.msg}", file=sys.stderr)
        return 1
    reply_req = (
        ReplyMessageRequest.builder()
        .message_id(text.data.message_id)
        .request_body(
            ReplyMessageRequestBody.builder()
            .content(json.dumps({"text": "a reply"}))
            .msg_type("text")
            .reply_in_thread(True)
            .uuid("sdk-check-reply")
            .build()
        )
        .build()
    )
    reply = client.im.v1.message.reply(reply_req)
    if not reply.success():
        print(f"reply failed: code={reply.code} msg={reply.msg}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "text_message_id": text.data.message_id,
                "text_chat_id": text.data.chat_id,
                "text_msg_type": text.data.msg_type,
                "text_body": text.data.body.content,
                "card_message_id": interactive.data.message_id,
                "image_key": image.data.image_key,
                "card_updated": patched.success(),
                "reply_message_id": reply.data.message_id,
                "reply_parent_id": reply.data.parent_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
