"""The web's message catalogue, key → {zh, en}, one module per area; ``service/web/i18n.py`` joins them."""
