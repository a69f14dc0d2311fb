"""BitSpot's binary network model file (see docs/model-format.md)."""
