"""Pure rules of the chain-leader system: standard library only, no I/O, no clock."""
