"""fusealign: audio."""
