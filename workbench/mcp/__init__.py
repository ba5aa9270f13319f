"""The MCP front end: the documented agent tools, served over streamable HTTP and over stdio.

``tools`` builds the one MCP server both transports share, ``http`` mounts it at
``/mcp/<mcp_token>`` in ``workbench serve``, ``stdio`` runs it against a local store, and
``unreadable`` words both transports' answer to a message they cannot read. Nothing
here is imported at package level, so importing the package does not load the MCP SDK.
"""
