"""The knowledge base: passages from the team's docs, a retrieval index, and answerers."""
