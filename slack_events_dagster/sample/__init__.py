"""The bundled sample workspace (a hand-written Slack export) and its gold list."""
