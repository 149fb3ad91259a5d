"""Writers and readers of results: TextGrid (praatio), JSON, SRT/WebVTT, CTM.

A leaf layer: it knows plain data (JSON documents, interval tiers, objects with
``words`` of ``text``/``start``/``end``/``phones``), never the pipeline that made it,
and imports nothing from ``align`` but the exceptions. A new output format is one
module here plus one line in :mod:`align.io.writers`' table of extensions.
"""
