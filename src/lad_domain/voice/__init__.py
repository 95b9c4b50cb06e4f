"""The voice context: AI voice agents, their numbers and voices, who may call with them,
batches of outbound calls placed inside legal calling hours, the call log and its analysis,
and the money of every call (held before dialing, billed exactly once)."""
