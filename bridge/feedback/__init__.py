"""Customer feedback: signed helpful / not-helpful links under AI replies, and helpdesk ratings."""
