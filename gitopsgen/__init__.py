"""The distribution's import name for `python -m gitopsgen`; the code lives in `generator`."""
