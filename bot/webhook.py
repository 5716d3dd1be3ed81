"""The webhook option: our own aiohttp route that feeds PTB's update queue.

PTB's built-in webhook server needs the ``webhooks`` extra (tornado); the daemon already
speaks aiohttp, so a small route does the job: it checks Telegram's secret-token header,
decodes the update and puts it on ``app.update_queue``. It listens on loopback behind the
host's HTTPS proxy (Telegram only calls HTTPS on ports 443, 80, 88, 8443).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.context import BotOptions

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


async def serve_webhook(
    app: Application[Any, Any, Any, Any, Any, Any], opts: BotOptions
) -> web.AppRunner:
    """Start the route and register the webhook with Telegram; return the runner to clean up."""
    if not opts.webhook_url or not opts.webhook_secret:
        raise ValueError("webhook mode needs webhook_url and webhook_secret")
    secret = opts.webhook_secret

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403)
        update = Update.de_json(await request.json(), app.bot)
        await app.update_queue.put(update)
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post("/telegram", receive)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, opts.webhook_host, opts.webhook_port).start()
    await app.bot.set_webhook(
        opts.webhook_url, secret_token=secret, allowed_updates=["message", "callback_query"]
    )
    log.info("bot webhook listening on %s:%d", opts.webhook_host, opts.webhook_port)
    return runner
