"""chain-ledger: the chain-leader (链长制) four-list ledger service."""

__version__ = "0.1.0"
