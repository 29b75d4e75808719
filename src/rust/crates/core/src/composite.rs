//! PLACEHOLDER: composites mapping nodes to LRP rules, and named presets (filled in by their own change).
