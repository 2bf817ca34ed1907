"""music-popularity ML package."""
