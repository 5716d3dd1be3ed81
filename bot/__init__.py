"""The Telegram bot (python-telegram-bot 22): approvals, outcomes and the support desk."""
