//! The Phi-3 graph over caller-provided arenas (in progress).
