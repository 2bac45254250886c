"""The pure decision core: conversation, ticket state, knowledge hits and policy in; a Decision out.

Nothing in this package does I/O, so every rule is testable in milliseconds and replayable.
"""

from bridge.decision.core import answerer_failed, resumes, settle, triage
from bridge.decision.model import Citation, Decision, DecisionKind, TicketView

__all__ = [
    "Citation",
    "Decision",
    "DecisionKind",
    "TicketView",
    "answerer_failed",
    "resumes",
    "settle",
    "triage",
]
