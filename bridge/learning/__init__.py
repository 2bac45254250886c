"""The learning loop: human answers to escalated tickets become reviewed knowledge-base entries."""
