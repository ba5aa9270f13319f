"""Where a built-in Textual theme needs a colour of its own to read right in this app's lists."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App

# rose-pine-dawn's surface is near white (#fffaf3), so $surface-lighten-2, the list cursor without
# focus (virtual_list.py), came out white: the same colour as the rows in 256 colours and barely
# apart in true colour, so a list without focus (feedback sessions while tab is in the comments) showed
# no cursor at all. Rosé Pine Dawn's own "highlight med" (256 colours: 253) stays apart from the
# rows (231), the focused cursor (249) and the header ($panel, 224).
_OWN_VARIABLES = {"rose-pine-dawn": {"surface-lighten-2": "#dfdad9"}}


def register(app: App) -> None:
    """Re-register the themes ``_OWN_VARIABLES`` names, each with those variables; every other theme is Textual's."""
    for name, variables in _OWN_VARIABLES.items():
        theme = app.get_theme(name)
        if theme is not None:
            app.register_theme(replace(theme, variables={**theme.variables, **variables}))
