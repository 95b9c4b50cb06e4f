"""Campaign use cases: campaigns and enrollments (``campaigns``), the send engine the worker
runs (``engine``), replies, bounces, unsubscribes and LinkedIn events (``inbound``), settling
unknown sends (``reconcile``) and the timeline a campaign would follow (``simulation``)."""
