"""The web pages, one module per area; each registers its routes on ``service.web.frame.router``."""
