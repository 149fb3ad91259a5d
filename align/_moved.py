"""Old import paths of modules that moved into layer folders, kept working.

``from align.dtw import dtw`` or ``import align.transcript`` predate the layered tree
(``align/sequence/``, ``align/speech/``); a finder on ``sys.meta_path`` answers those
names with the module at its new home (the same module object, so there is one copy
of every class). Nothing is imported until a user asks for an old name.
"""

import importlib
import importlib.abc
import importlib.util
import sys

#: old module name -> new module name
MOVED = {
    "align.dtw": "align.sequence.dtw",
    "align.search": "align.sequence.search",
    "align.softdtw": "align.sequence.softdtw",
    "align.softdtw_torch": "align.sequence.softdtw_torch",
    "align.transcript": "align.speech.transcript",
    "align.corpus": "align.speech.corpus",
    "align.results": "align.speech.results",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass  # already executed under its new name


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``align.<old>`` and returns the module that now lives at ``MOVED[old]``."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install():
    """Put the finder on ``sys.meta_path`` once; alias modules that are already loaded."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
