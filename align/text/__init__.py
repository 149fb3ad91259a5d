"""fusealign: text."""
