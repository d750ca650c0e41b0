"""Protocol check of the fake Feishu HTTP API with the official SDK (lark-oapi).

Usage: check_fake_feishu_api.py BASE_URL APP_ID APP_SECRET CHAT_ID

The SDK fetches a tenant token, sends a text message and an interactive card, and
replies under the first; each response must parse into the SDK's own types with
code 0. Prints one JSON line with what the SDK read; exits 1 on any failure.
"""

import json
import sys

import lark_oapi as lark
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)


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
    card = {
        "schema": "2.0",
        "header": {"title": {"tag": "plain_text", "content": "sdk card"}, "template": "blue"},
        "body": {"elements": [{"tag": "markdown", "content": "**hi**"}]},
    }
    interactive = send("interactive", card, "sdk-check-card")
    if not interactive.success():
        print(f"send card failed: code={interactive.code} msg={interactive.msg}", file=sys.stderr)
        return 1
    reply_req = (
        ReplyMessageRequest.builder()
        .message_id(text.data.message_id)
        .request_body(
            ReplyMessageRequestBody.builder()
            .content(json.dumps({"text": "a reply"}))
            .msg_type("text")
            .reply_in_thread(False)
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
                "reply_message_id": reply.data.message_id,
                "reply_parent_id": reply.data.parent_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
