//! PLACEHOLDER: DeepLift rules (filled in by their own change).
