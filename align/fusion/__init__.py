"""fusealign: fusion."""
