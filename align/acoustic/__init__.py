"""fusealign: acoustic."""
