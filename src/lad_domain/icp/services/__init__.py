"""The ICP assistant's use cases."""
