"""The terminal front end: a Textual app over the local store, acting as the local user.

Imports only what the first screen needs; every other screen and use case is imported when
first used, so the app paints quickly (see bench/bench_tui.py).
"""
