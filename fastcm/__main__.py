"""``python -m fastcm``: the same as the ``fastcm`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
