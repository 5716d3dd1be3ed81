"""A fake Telegram Bot API on loopback, for driving the real PTB stack over HTTP.

PTB is pointed at it with ``base_url="http://127.0.0.1:PORT/bot"`` (no trailing slash: PTB
builds ``{base_url}{token}/{method}``, chatops-and-messaging.md §C.4). It is as strict as
Telegram where that matters to us: callback_data must be 1-64 bytes (PTB does not check),
text 1-4096 characters, captions up to 1024, an edit must change something and name a
message that exists.
``getUpdates`` really long-polls, so the polling loop does not spin. Tests feed updates with
`push_text` / `push_callback`, read what the bot did with `calls` / `wait_for`, and inject
faults with `fail_next` (e.g. a 429 with ``retry_after``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 999_000
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "pecora", "username": "pecora_test_bot"}


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    """The server and its state (messages per chat, the update queue, recorded calls)."""

    def __init__(self, token: str = "123456:TEST-token") -> None:  # noqa: S107
        self.token = token
        self.calls: list[Call] = []
        self.fail_next: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); return the ``base_url`` for PTB."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` must be."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        """Stop serving (wakes any long poll)."""
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test side ---------------------------------------------------------------------------

    def _user(self, user_id: int, name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "username": f"u{user_id}"}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "g"}

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; return its update_id."""
        update["update_id"] = next(self._update_ids)
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    async def push_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        name: str = "Tester",
        reply_to: int | None = None,
        forwarded_from: int | None = None,
        document: dict[str, Any] | None = None,
    ) -> int:
        """A user writes ``text`` (a command gets its bot_command entity); return message_id."""
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": self._user(user_id, name),
        }
        if document is not None:
            message["document"] = document
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        if text.startswith("/") and document is None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat, reply_to)]
        if forwarded_from is not None:
            message["forward_origin"] = {
                "type": "user",
                "date": int(time.time()),
                "sender_user": self._user(forwarded_from, "Original"),
            }
        self.messages[(chat, message["message_id"])] = message
        await self.push_update({"message": message})
        return int(message["message_id"])

    async def push_callback(
        self, user_id: int, chat_id: int, message_id: int, data: str, *, name: str = "Tester"
    ) -> str:
        """A user presses the button carrying ``data`` on a stored message; return the query id."""
        query_id = f"cq{next(self._ids)}"
        await self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, name),
                    "chat_instance": "ci",
                    "data": data,
                    "message": self.messages[(chat_id, message_id)],
                }
            }
        )
        return query_id

    def sent(self, method: str = "sendMessage") -> list[Call]:
        """Return the recorded calls of ``method``."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        where: Callable[[Call], bool] = lambda c: True,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` matching ``where`` were made; return them."""

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and where(c)]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(matching()) >= count), timeout
            )
        return matching()

    def buttons(self, chat_id: int, message_id: int) -> dict[str, str]:
        """Return label -> callback_data of a stored bot message's inline keyboard."""
        markup = self.messages[(chat_id, message_id)].get("reply_markup") or {}
        return {
            b["text"]: b["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        }

    # -- server side -------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                head = data[:5].decode("latin-1")  # e.g. "%PDF-": what kind of file it is
                params[key] = {"filename": value.filename, "size": len(data), "head": head}
            else:
                params[key] = _decode(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            async with self._changed:
                self.calls.append(Call(method, params))
                self._changed.notify_all()
        if faults := self.fail_next.get(method):
            status, body = faults.pop(0)
            return web.json_response(body, status=status)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _m_getMe(self, p: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> Any:
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> Any:
        # Telegram takes only HTTPS webhooks (and a secret token of the allowed alphabet).
        if not str(p.get("url", "")).startswith("https://"):
            return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        return True

    async def _m_setMyCommands(self, p: dict[str, Any]) -> Any:
        return True

    async def _m_getUpdates(self, p: dict[str, Any]) -> Any:
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        async with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates)), timeout
                    )
            return list(self._updates)

    def _check_markup(self, p: dict[str, Any]) -> web.Response | None:
        markup = p.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _store(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": BOT_USER,
            **content,
        }
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram shows only inline keyboards on messages
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _m_sendMessage(self, p: dict[str, Any]) -> Any:
        text = str(p.get("text", ""))
        if not 1 <= len(text) <= 4096:
            return _error(400, "Bad Request: message text is empty or too long")
        if (bad := self._check_markup(p)) is not None:
            return bad
        return self._store(p, text=text)

    async def _m_sendDocument(self, p: dict[str, Any]) -> Any:
        if (bad := self._check_markup(p)) is not None:
            return bad
        if len(str(p.get("caption", ""))) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        doc = p.get("document") or {}
        name = doc.get("filename", "file") if isinstance(doc, dict) else str(doc)
        return self._store(
            p,
            caption=str(p.get("caption", "")),
            document={"file_id": f"f{next(self._ids)}", "file_unique_id": "u", "file_name": name},
        )

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        return True

    async def _edit(self, p: dict[str, Any], **change: Any) -> Any:
        key = (int(p["chat_id"]), int(p["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if (bad := self._check_markup(p)) is not None:
            return bad
        markup = p.get("reply_markup") or None
        new = {**message, **change}
        if markup is None:
            new.pop("reply_markup", None)
        else:
            new["reply_markup"] = markup
        if new == message:
            return _error(400, "Bad Request: message is not modified")
        self.messages[key] = new
        return new

    async def _m_editMessageText(self, p: dict[str, Any]) -> Any:
        return await self._edit(p, text=str(p.get("text", "")))

    async def _m_editMessageCaption(self, p: dict[str, Any]) -> Any:
        message = self.messages.get((int(p.get("chat_id", 0)), int(p.get("message_id", 0))))
        if message is not None and "document" not in message:
            return _error(400, "Bad Request: there is no caption in the message to edit")
        caption = str(p.get("caption", ""))
        if len(caption) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        return await self._edit(p, caption=caption)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> Any:
        return await self._edit(p)


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def too_many_requests(retry_after: int = 1) -> tuple[int, dict[str, Any]]:
    """A 429 answer, as Telegram sends it."""
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
