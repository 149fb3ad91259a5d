"""Torch models fed by alignments (intermediate fusion, duration-driven TTS; issue 11).

A new fusion operator is one ``nn.Module`` in its own module here, registered by name
in the model that selects operators. Imports torch, so ``import align`` never loads it.
"""
