//! Quantized matrix × vector over a row range (placeholder).
