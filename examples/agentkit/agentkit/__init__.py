"""agentkit: thin helpers over agent frameworks (the example library of nox-compat)."""
