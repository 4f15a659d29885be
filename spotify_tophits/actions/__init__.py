"""Actions: one short story per command. They take their collaborators and return results; they never print."""
