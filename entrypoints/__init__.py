"""Entry points on top of the application: the command line, the HTTP API, the web pages."""
