"""The widgets of the main screen, one module each."""
