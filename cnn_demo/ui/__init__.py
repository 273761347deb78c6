"""The UI floor: one module per tab; each builds components and wires them to the core."""
