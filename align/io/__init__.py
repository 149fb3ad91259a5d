"""fusealign: io."""
