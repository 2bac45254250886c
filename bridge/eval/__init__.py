"""Evaluations: labelled conversations run through the worker's real decision path.

``cases`` reads and validates the YAML case files, ``capture`` is the helpdesk stand-in that
serves a case's turns and records what would have been written, ``runner`` drives
``tasks.pipeline`` once per case (``answerers`` meters the answerer and caches LLM answers),
``checks`` compares each outcome with its expectation, ``report`` turns the results into
metrics, a table or JSON, ``gate`` checks them against thresholds, ``public`` adapts public
datasets into cases and ``drafts`` turns recorded decisions into masked draft cases to label.
"""
