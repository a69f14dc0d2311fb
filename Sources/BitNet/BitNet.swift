import BitKernels

/// BitNet: tensors, layers, graph executor with early exits, and the model file.
public enum BitNet {}
