/// BitNet: tensors over a planned arena, the model file, and a graph executor with early exits.
public enum BitNet {}
