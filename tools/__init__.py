"""Developer tools (synthetic data, data builders); not part of the installed package."""
