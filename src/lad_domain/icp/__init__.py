"""The ICP assistant: from a conversation to an ideal-customer profile and its search."""
