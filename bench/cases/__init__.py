"""One module per benchmark case; each returns result rows and details for the JSON."""
