"""helpdesk-bridge: answers customers from a team's own docs and hands everything else to humans."""

__version__ = "0.1.0"
