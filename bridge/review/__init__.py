"""The review UI under ``/review`` and the ``report`` command: how well the bot is doing.

Admins read the numbers (containment, handoffs, time to a human), judge handoffs, read AI
replies with their feedback, see where the docs fall short, approve answers learned from
human resolutions and deal with failed events.
"""
