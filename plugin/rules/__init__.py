"""Rules: pure functions from facts, a policy and the date to Findings. Nothing here reads the clock or the network."""
