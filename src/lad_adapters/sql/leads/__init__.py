"""The leads context's SQL repositories: leads and the pipeline, what hangs off a lead, the
import staging area."""
