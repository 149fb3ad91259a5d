"""The transcript aligner (the main job) and its results.

- :mod:`~align.speech.transcript`: :func:`align_transcript`, one recording and its text;
- :mod:`~align.speech.corpus`: :func:`align_corpus`, a folder of them on all cores;
- :mod:`~align.speech.results`: :class:`Alignment`, :class:`Word`, :class:`Phone`
  (plain data; written by :mod:`align.io`).

Nothing is imported here: the pipeline loads the acoustic model and text front end
on first use.
"""
