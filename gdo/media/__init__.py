"""Media layer: images, videos (decord) and frame folders -> uint8 frame arrays."""
