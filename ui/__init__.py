"""Qt widgets of the plugin: thin, they draw models computed by ``core``."""
