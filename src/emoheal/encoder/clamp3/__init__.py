"""CLaMP 3 (Wu et al. 2025), re-implemented from its description and proven against an
oracle computed by the official code (`emoheal clamp3 verify`)."""
