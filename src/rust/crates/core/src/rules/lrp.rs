//! PLACEHOLDER: LRP rules (filled in by their own change).
