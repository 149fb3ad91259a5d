"""``python -m align``: the same as the ``align`` command."""

from .cli import main

raise SystemExit(main())
