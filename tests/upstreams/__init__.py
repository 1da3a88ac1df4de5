"""Real local HTTP servers that speak the providers' wire formats, for the tests."""
