"""Leads: the pipeline (stages, statuses), leads, notes, attachments, social data, bookings
and bulk import / export."""
